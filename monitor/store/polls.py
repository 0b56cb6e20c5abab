"""Poll history (`source_polls`): one row per poll, written in the poll's own transaction,
and what the web pages read about sources' activity.

Only about the newest POLLS_KEPT rows of each source are kept: a source's older rows are
deleted (through the (source_id, id) index) at every PRUNE_EVERY-th write of a process,
counted from a random start (so one of a process's first PRUNE_EVERY writes prunes, and a
source polled once per process — `monitor once` from cron — is pruned at one poll in
PRUNE_EVERY, ~PRUNE_EVERY rows over POLLS_KEPT on average). The table stays small however
often sources are polled while a write costs one INSERT (a batch of polls: one INSERT for
all) and rarely a DELETE.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from monitor.store.access import EngineAccess
from monitor.store.tables import documents, outbox, source_polls

POLLS_KEPT = 100
PRUNE_EVERY = 16  # a source holds at most POLLS_KEPT + PRUNE_EVERY - 1 rows


@dataclass(frozen=True)
class PollRecord:
    """One poll of one source, as the history shows it."""

    source_id: str
    started_at: datetime
    status: str  # ok | not_modified | error
    duration: float | None = None
    http_status: int | None = None
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    item_count: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class Activity:
    """Counts for the overview: documents first seen and alerts queued since a time."""

    documents: int
    alerts: int


class PollLog:
    """Writes polls to the history (in the caller's transaction) and prunes it."""

    def __init__(self) -> None:
        self._writes: dict[str, int] = {}  # polls written per source by this process

    def write(self, conn: Connection, records: list[PollRecord]) -> None:
        if not records:
            return
        fields = PollRecord.__dataclass_fields__
        conn.execute(source_polls.insert(), [{k: getattr(r, k) for k in fields} for r in records])
        for record in records:
            written = self._writes.get(record.source_id)
            if written is None:
                written = random.randrange(PRUNE_EVERY)
            self._writes[record.source_id] = written + 1
            if written % PRUNE_EVERY == 0:
                _prune(conn, record.source_id)


def _prune(conn: Connection, source_id: str) -> None:
    """Delete a source's rows older than its newest POLLS_KEPT."""
    oldest_kept = (
        select(source_polls.c.id)
        .where(source_polls.c.source_id == source_id)
        .order_by(source_polls.c.id.desc())
        .offset(POLLS_KEPT - 1)
        .limit(1)
        .scalar_subquery()
    )
    conn.execute(
        source_polls.delete().where(
            source_polls.c.source_id == source_id, source_polls.c.id < oldest_kept
        )
    )


def _record(row: Any) -> PollRecord:
    values = dict(row._mapping)
    values.pop("id", None)
    return PollRecord(**values)


class Polls(EngineAccess):
    """Reads of the poll history and of activity counts (the web pages' queries)."""

    def recent(self, source_id: str, limit: int = POLLS_KEPT) -> list[PollRecord]:
        """A source's polls, newest first."""
        query = (
            select(source_polls)
            .where(source_polls.c.source_id == source_id)
            .order_by(source_polls.c.id.desc())
            .limit(limit)
        )
        with self._connect() as conn:
            return [_record(row) for row in conn.execute(query)]

    def failing_since(self, source_ids: Collection[str]) -> dict[str, datetime]:
        """For each of these sources whose latest polls failed: the first of those polls.

        Only failures still in the kept history are seen: a source failing for longer
        shows the oldest kept failure.
        """
        ids = list(source_ids)
        if not ids:
            return {}
        last_ok = (
            select(source_polls.c.source_id, func.max(source_polls.c.id).label("id"))
            .where(source_polls.c.status != "error", source_polls.c.source_id.in_(ids))
            .group_by(source_polls.c.source_id)
            .subquery()
        )
        query = (
            select(source_polls.c.source_id, func.min(source_polls.c.started_at))
            .select_from(
                source_polls.outerjoin(last_ok, last_ok.c.source_id == source_polls.c.source_id)
            )
            .where(
                source_polls.c.status == "error",
                source_polls.c.source_id.in_(ids),
                (last_ok.c.id.is_(None)) | (source_polls.c.id > last_ok.c.id),
            )
            .group_by(source_polls.c.source_id)
        )
        with self._connect() as conn:
            rows = conn.execute(query).all()
        return {row[0]: _aware(row[1]) for row in rows if row[1] is not None}

    def activity(self, since: datetime) -> Activity:
        """Documents first seen and alerts queued since `since`."""
        docs = select(func.count()).select_from(documents).where(documents.c.first_seen_at >= since)
        alerts = select(func.count()).select_from(outbox).where(outbox.c.created_at >= since)
        with self._connect() as conn:
            return Activity(
                int(conn.execute(docs).scalar_one()), int(conn.execute(alerts).scalar_one())
            )

    def dead_alerts(self) -> int:
        query = select(func.count()).select_from(outbox).where(outbox.c.status == "dead")
        with self._connect() as conn:
            return int(conn.execute(query).scalar_one())


def _aware(value: Any) -> datetime:
    # An aggregate bypasses the column type: SQLite hands back naive text.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
