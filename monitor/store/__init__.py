"""Persistence: SQLAlchemy store for SQLite and PostgreSQL, Alembic migrations."""

from monitor.store.store import SourceState, Store

__all__ = ["SourceState", "Store"]
