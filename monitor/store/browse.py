"""What the web pages read: alerts with their delivery attempts, each channel's delivery
activity, documents by filter, one document's facts and sightings, and batches of documents
for searching with a query.

Reads only; every query is bounded (a page, a batch), so a page costs the same with
10,000 documents as with 100.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Select, func, select

from monitor.store.access import EngineAccess
from monitor.store.tables import alert_attempts, documents, outbox, sightings

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


@dataclass
class ChannelActivity:
    """What the outbox says of one channel: its queue and its latest attempts."""

    channel: str
    pending: int = 0
    oldest_pending: datetime | None = None  # created (or re-queued) at
    dead: int = 0
    last_delivered: datetime | None = None
    recent: list[Attempt] = field(default_factory=list)  # newest first
    has_alerts: bool = False


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


def _aware(value: Any) -> datetime | None:
    """An aggregate's datetime (SQLite hands back naive text) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _attempts(channel: str) -> Select[Any]:
    """The channel's attempts, newest first (joined through the outbox's primary key, read
    backwards from the newest attempt: a LIMIT stops the scan early)."""
    return (
        select(alert_attempts.c.attempted_at, alert_attempts.c.result, alert_attempts.c.error)
        .join(outbox, outbox.c.id == alert_attempts.c.alert_id)
        .where(outbox.c.channel == channel)
        .order_by(alert_attempts.c.id.desc())
    )


def _last_delivered(conn: Connection, channel: str, recent: list[Attempt]) -> datetime | None:
    for attempt in recent:
        if attempt.result == "delivered":
            return attempt.attempted_at
    found = conn.execute(
        _attempts(channel).where(alert_attempts.c.result == "delivered").limit(1)
    ).first()
    if found is not None:
        return found.attempted_at  # type: ignore[no-any-return]
    # Alerts delivered before attempts were recorded (databases older than migration 0010).
    latest = select(func.max(outbox.c.delivered_at)).where(
        outbox.c.status == "delivered", outbox.c.channel == channel
    )
    return _aware(conn.execute(latest).scalar_one())


class Browse(EngineAccess):
    """Read-only queries for the web pages."""

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

    # -- channels -------------------------------------------------------------------------

    def channel_activity(
        self, channels: Collection[str] = (), recent: int = 3
    ) -> dict[str, ChannelActivity]:
        """Each channel's queue, last delivery and `recent` latest attempts (newest first):
        the channels named, and every channel the outbox holds alerts for.

        Waiting and dead alerts are counted through the outbox's status index, and attempts
        read newest first, so the cost follows the queue, not the whole history; only a
        channel that never delivered has its attempts read through.
        """
        status = outbox.c.status
        waiting_since = func.coalesce(outbox.c.requeued_at, outbox.c.created_at)
        with self._connect() as conn:
            found = {name: ChannelActivity(name) for name in channels}
            for name in conn.execute(select(outbox.c.channel).distinct()).scalars():
                found.setdefault(name, ChannelActivity(name)).has_alerts = True
            for name, count, oldest in conn.execute(
                select(outbox.c.channel, func.count(), func.min(waiting_since))
                .where(status == "pending")
                .group_by(outbox.c.channel)
            ):
                found[name].pending, found[name].oldest_pending = int(count), _aware(oldest)
            for name, count in conn.execute(
                select(outbox.c.channel, func.count())
                .where(status == "dead")
                .group_by(outbox.c.channel)
            ):
                found[name].dead = int(count)
            for name, activity in found.items():
                if not activity.has_alerts:
                    continue  # no attempts either: they are pruned with their alert
                activity.recent = [
                    Attempt(r.attempted_at, r.result, r.error)
                    for r in conn.execute(_attempts(name).limit(recent))
                ]
                activity.last_delivered = _last_delivered(conn, name, activity.recent)
        return found

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
