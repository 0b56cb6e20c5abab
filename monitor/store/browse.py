"""What the web pages read: alerts with their delivery attempts, documents by filter, one
document's facts and sightings, and batches of documents for searching with a query.

Reads only; every query is bounded (a page, a batch), so a page costs the same with
10,000 documents as with 100.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Select, func, select
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import StoreError
from monitor.store.outbox import db_reason
from monitor.store.tables import alert_attempts, document_versions, documents, outbox, sightings

ALERT_STATUSES = ("pending", "delivered", "dead")


@dataclass(frozen=True)
class AlertFilter:
    rule: str | None = None
    channel: str | None = None
    status: str | None = None
    since: datetime | None = None  # created at or after
    until: datetime | None = None  # created before


@dataclass(frozen=True)
class DocumentFilter:
    source: str | None = None
    kind: str | None = None
    since: datetime | None = None  # published (first seen when undated) at or after
    until: datetime | None = None  # … before

    def narrows(self) -> bool:
        return any(v is not None for v in (self.source, self.kind, self.since, self.until))


@dataclass(frozen=True)
class Attempt:
    attempted_at: datetime
    result: str  # delivered | failed | dead
    error: str | None


@dataclass
class AlertView:
    """One outbox alert with what the alerts page shows of it."""

    id: int
    channel: str
    rule_id: str
    document_id: str
    version: int
    payload: dict[str, Any]
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime
    requeued_at: datetime | None
    history: list[Attempt] = field(default_factory=list)


@dataclass(frozen=True)
class Sighting:
    source_id: str
    url: str
    first_seen_at: datetime
    last_seen_at: datetime


def _dated() -> Any:
    return func.coalesce(documents.c.published_at, documents.c.first_seen_at)


def document_filter(query: Select[Any], f: DocumentFilter) -> Select[Any]:
    """`query` (over `documents`) narrowed to the filter."""
    if f.source:
        query = query.where(documents.c.source_id == f.source)
    if f.kind:
        query = query.where(documents.c.kind == f.kind)
    if f.since is not None:
        query = query.where(_dated() >= f.since)
    if f.until is not None:
        query = query.where(_dated() < f.until)
    return query


class Browse:
    """Read-only queries for the web pages."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as err:
            raise StoreError(f"database error: {db_reason(err)}") from None

    # -- alerts ---------------------------------------------------------------------------

    def alerts(
        self, f: AlertFilter, offset: int = 0, limit: int = 50
    ) -> tuple[list[AlertView], int]:
        """Alerts matching `f`, newest first, with their attempts; and how many match."""
        where = []
        if f.rule:
            where.append(outbox.c.rule_id == f.rule)
        if f.channel:
            where.append(outbox.c.channel == f.channel)
        if f.status:
            where.append(outbox.c.status == f.status)
        if f.since is not None:
            where.append(outbox.c.created_at >= f.since)
        if f.until is not None:
            where.append(outbox.c.created_at < f.until)
        columns = [c for c in outbox.c if c.name not in ("claimed_until", "claim_token")]
        with self._connect() as conn:
            total = conn.execute(
                select(func.count()).select_from(outbox).where(*where)
            ).scalar_one()
            rows = conn.execute(
                select(*columns)
                .where(*where)
                .order_by(outbox.c.created_at.desc(), outbox.c.id.desc())
                .offset(offset)
                .limit(limit)
            ).all()
            found = [
                AlertView(
                    r.id,
                    r.channel,
                    r.rule_id,
                    r.document_id,
                    r.version,
                    r.payload,
                    r.status,
                    r.attempts,
                    r.last_error,
                    r.created_at,
                    r.delivered_at,
                    r.next_attempt_at,
                    r.requeued_at,
                )
                for r in rows
            ]
            by_id = {a.id: a for a in found}
            if by_id:
                for a in conn.execute(
                    select(alert_attempts)
                    .where(alert_attempts.c.alert_id.in_(list(by_id)))
                    .order_by(alert_attempts.c.id)
                ):
                    by_id[a.alert_id].history.append(Attempt(a.attempted_at, a.result, a.error))
        return found, int(total)

    def alert_choices(self) -> tuple[list[str], list[str]]:
        """The rules and channels that have alerts (the filter's options)."""
        with self._connect() as conn:
            rules = conn.execute(select(outbox.c.rule_id).distinct()).scalars().all()
            channels = conn.execute(select(outbox.c.channel).distinct()).scalars().all()
        return sorted(rules), sorted(channels)

    # -- documents ------------------------------------------------------------------------

    def documents(
        self, f: DocumentFilter, offset: int = 0, limit: int = 50
    ) -> tuple[list[Any], int]:
        """Rows (id, source_id, title, kind, published_at, first_seen_at, version, url) of
        documents matching `f`, newest first; and how many match."""
        query = select(
            documents.c.id,
            documents.c.source_id,
            documents.c.title,
            documents.c.kind,
            documents.c.published_at,
            documents.c.first_seen_at,
            documents.c.version,
            documents.c.url,
        )
        with self._connect() as conn:
            total = conn.execute(
                document_filter(select(func.count()).select_from(documents), f)
            ).scalar_one()
            rows = conn.execute(
                document_filter(query, f)
                .order_by(_dated().desc(), documents.c.id)
                .offset(offset)
                .limit(limit)
            ).all()
        return list(rows), int(total)

    def count_documents(self, f: DocumentFilter) -> int:
        with self._connect() as conn:
            query = document_filter(select(func.count()).select_from(documents), f)
            return int(conn.execute(query).scalar_one())

    def document_data(
        self, f: DocumentFilter, after: str = "", limit: int = 500
    ) -> list[tuple[str, dict[str, Any]]]:
        """(id, stored JSON) of the latest versions of documents matching `f`, by id after
        `after`: one batch of a scan."""
        query = (
            select(documents.c.id, document_versions.c.data)
            .join(
                document_versions,
                (document_versions.c.document_id == documents.c.id)
                & (document_versions.c.version == documents.c.version),
            )
            .where(documents.c.id > after)
            .order_by(documents.c.id)
            .limit(limit)
        )
        with self._connect() as conn:
            return [(r.id, r.data) for r in conn.execute(document_filter(query, f))]

    def kinds_and_sources(self) -> tuple[list[str], list[str]]:
        """The kinds and sources stored documents have (the filter's options)."""
        with self._connect() as conn:
            kinds = conn.execute(
                select(documents.c.kind).where(documents.c.kind.is_not(None)).distinct()
            ).scalars()
            sources = conn.execute(select(documents.c.source_id).distinct()).scalars()
            return sorted(kinds), sorted(sources)

    def document_row(self, doc_id: str) -> Any | None:
        """The `documents` row (first and last seen, partial text) or None."""
        with self._connect() as conn:
            return conn.execute(select(documents).where(documents.c.id == doc_id)).first()

    def sightings(self, doc_id: str) -> list[Sighting]:
        with self._connect() as conn:
            rows = conn.execute(
                select(sightings)
                .where(sightings.c.document_id == doc_id)
                .order_by(sightings.c.first_seen_at)
            ).all()
        return [Sighting(r.source_id, r.url, r.first_seen_at, r.last_seen_at) for r in rows]
