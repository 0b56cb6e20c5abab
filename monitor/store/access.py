"""The base of the store's query groups (outbox, poll history, feedback, the pages' reads):
one engine, and the database's errors turned into a one-line StoreError so that a caller
(the delivery worker, the CLI, a page) can report an unreachable database plainly."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Table
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import StoreError


def upsert_insert(dialect: str, table: Table) -> Any:
    """The database's own INSERT (SQLite's or PostgreSQL's), which has ON CONFLICT.

    Only the dialect in use is imported: PostgreSQL's costs ~25 ms at every start-up of a
    SQLite install. (Both constructs have `on_conflict_do_update/_nothing` and `excluded`.)
    """
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)
    from sqlalchemy.dialects import postgresql

    return postgresql.insert(table)


def db_reason(err: SQLAlchemyError) -> str:
    """The driver's own first line (no SQLAlchemy class names or "Background on" links)."""
    orig = getattr(err, "orig", None)
    text = str(orig if orig is not None else err).strip()
    return text.splitlines()[0] if text else type(err).__name__


class EngineAccess:
    """Connections and transactions on one engine, with the database's errors as ours."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as err:
            raise StoreError(f"database error: {db_reason(err)}") from None

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as err:
            raise StoreError(f"database error: {db_reason(err)}") from None
