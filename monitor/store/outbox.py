"""The outbox half of the store: alerts waiting to be delivered, claimed by workers.

Guarantees: an alert row exists at most once per (rule, document, version, channel)
(unique idempotency key); it is written in the transaction that stores the match; a worker
claims a row with a conditional UPDATE (a lease) that gives it a claim token, so two workers
never send the same row at once. Every later write of the worker (extending the lease,
marking the outcome, releasing the row) is fenced by that token and the pending status: a
worker whose lease ran out, and whose row another worker then claimed, changes nothing. A
worker that dies after sending but before marking leaves the lease to expire, and the
resend carries the same idempotency key.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select, update

from monitor.alerts.base import Dead, OutboxAlert, Outcome, Retry, Sent
from monitor.store.access import EngineAccess, upsert_insert
from monitor.store.tables import alert_attempts, outbox


@dataclass
class NewAlert:
    """An alert to enqueue: its key, channel and payload."""

    key: str
    channel: str
    rule_id: str
    document_id: str
    version: int
    payload: dict[str, Any]


@dataclass
class ClaimedAlert(OutboxAlert):
    """An outbox row claimed by one worker; its token fences every later write."""

    claim_token: str
    give_up_from: datetime  # created_at, or when `alerts retry` last re-queued it


@dataclass(frozen=True)
class Marked:
    """What a mark did: the status written, and the rows whose claim was lost."""

    status: str  # delivered | pending | dead
    marked: list[int] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)  # another worker holds them: untouched


def retry_delay(
    attempts: int, retry_after: float | None, *, backoff: float, backoff_max: float
) -> float:
    """Seconds before the next attempt: exponential backoff with jitter, and a server's
    Retry-After honoured only between that backoff and `backoff_max` (a `0` must not
    remove the backoff, and a huge value must neither kill the alert nor overflow)."""
    exponent = min(max(attempts - 1, 0), 32)  # 2**32 backoffs is past any maximum
    delay = min(backoff_max, backoff * 2**exponent) * random.uniform(0.8, 1.2)
    if retry_after is not None and not math.isnan(retry_after):
        delay = max(delay, min(retry_after, backoff_max))
    return delay


@dataclass
class AlertRow:
    """An outbox row for listings (`monitor alerts`)."""

    id: int
    key: str
    channel: str
    rule_id: str
    title: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime
    requeued_at: datetime | None = None


def write_alerts(conn: Connection, alerts: list[NewAlert], now: datetime) -> None:
    """Enqueue alerts; a row whose idempotency key exists already is left alone."""
    if not alerts:
        return
    statement = upsert_insert(conn.dialect.name, outbox).on_conflict_do_nothing(
        index_elements=["idempotency_key"]
    )
    conn.execute(
        statement,
        [
            {
                "idempotency_key": a.key,
                "channel": a.channel,
                "rule_id": a.rule_id,
                "document_id": a.document_id,
                "version": a.version,
                "payload": a.payload,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for a in alerts
        ],
    )


def write_attempts(
    conn: Connection, alert_ids: list[int], now: datetime, status: str, error: str | None
) -> None:
    """Record one delivery attempt of each alert (the alerts page lists them)."""
    if alert_ids:
        result = "failed" if status == "pending" else status  # delivered | failed | dead
        conn.execute(
            alert_attempts.insert(),
            [
                {"alert_id": i, "attempted_at": now, "result": result, "error": error}
                for i in alert_ids
            ],
        )


class Outbox(EngineAccess):
    """Claiming, marking and listing outbox rows."""

    def claim_due(
        self,
        now: datetime,
        lease: float,
        digests: dict[str, int],
        limit: int = 200,
        *,
        channels: Collection[str] | None = None,
    ) -> list[ClaimedAlert]:
        """Claim pending rows that are due; a digest channel's rows once its window closed.

        Only rows of `channels` (the channels this worker can send to) when given: during a
        rolling deploy another replica may know a channel this one does not. One
        UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) … RETURNING: on PostgreSQL a
        row another worker is claiming is skipped, never waited for; SQLite runs one writer
        at a time anyway. All rows of one claim share its token.
        """
        claimable = (
            (outbox.c.status == "pending")
            & (outbox.c.next_attempt_at <= now)
            & ((outbox.c.claimed_until.is_(None)) | (outbox.c.claimed_until < now))
        )
        if channels is not None:
            claimable = claimable & outbox.c.channel.in_(list(channels))
        blocked: list[str] = []
        if digests:
            with self._begin() as conn:
                oldest = conn.execute(
                    select(outbox.c.channel, func.min(outbox.c.created_at))
                    .where(claimable, outbox.c.channel.in_(list(digests)))
                    .group_by(outbox.c.channel)
                ).all()
            blocked = [
                channel
                for channel, first in oldest
                if first + timedelta(seconds=digests[channel]) > now  # still gathering
            ]
        candidates = select(outbox.c.id).where(claimable).order_by(outbox.c.id).limit(limit)
        if blocked:
            candidates = candidates.where(outbox.c.channel.not_in(blocked))
        candidates = candidates.with_for_update(skip_locked=True)
        token = uuid.uuid4().hex
        statement = (
            update(outbox)
            .where(outbox.c.id.in_(candidates.scalar_subquery()), claimable)
            .values(claimed_until=now + timedelta(seconds=lease), claim_token=token)
            .returning(
                outbox.c.id,
                outbox.c.idempotency_key,
                outbox.c.channel,
                outbox.c.payload,
                outbox.c.attempts,
                outbox.c.created_at,
                outbox.c.requeued_at,
            )
        )
        with self._begin() as conn:
            rows = conn.execute(statement).all()
        return sorted(
            (
                ClaimedAlert(
                    r.id,
                    r.idempotency_key,
                    r.channel,
                    r.payload,
                    r.attempts,
                    r.created_at,
                    claim_token=token,
                    give_up_from=r.requeued_at or r.created_at,
                )
                for r in rows
            ),
            key=lambda a: a.id,
        )

    def waiting_for_unknown(self, known: Collection[str]) -> dict[str, int]:
        """Pending alerts per channel not in `known` (left for a replica that knows it)."""
        with self._begin() as conn:
            rows = conn.execute(
                select(outbox.c.channel, func.count())
                .where(outbox.c.status == "pending", outbox.c.channel.not_in(list(known)))
                .group_by(outbox.c.channel)
            ).all()
        return {channel: int(count) for channel, count in rows}

    @staticmethod
    def _fenced(alerts: list[ClaimedAlert]) -> Any:
        """Rows of `alerts` still claimed by their token and still pending."""
        tokens = {a.claim_token for a in alerts}
        assert len(tokens) == 1, "a batch comes from one claim"
        return (
            outbox.c.id.in_([a.id for a in alerts])
            & (outbox.c.claim_token == tokens.pop())
            & (outbox.c.status == "pending")
        )

    def extend(self, alerts: list[ClaimedAlert], now: datetime, lease: float) -> int:
        """Keep the claim of rows still being sent; returns how many were still held."""
        if not alerts:
            return 0
        with self._begin() as conn:
            result = conn.execute(
                update(outbox)
                .where(self._fenced(alerts))
                .values(claimed_until=now + timedelta(seconds=lease))
            )
        return int(result.rowcount)

    def release(self, alerts: list[ClaimedAlert]) -> int:
        """Give unsent rows back, due as they were, without counting an attempt."""
        with self._begin() as conn:
            result = conn.execute(
                update(outbox)
                .where(self._fenced(alerts))
                .values(claimed_until=None, claim_token=None)
            )
        return int(result.rowcount)

    def mark(
        self,
        alerts: list[ClaimedAlert],
        outcome: Outcome,
        now: datetime,
        *,
        backoff: float,
        backoff_max: float,
        give_up_after: float,
    ) -> Marked:
        """Record a delivery attempt on the rows this claim still holds.

        A row whose lease expired and which another worker claimed (or already marked) is
        left alone and reported as lost: writing it would undo the other worker's record.
        """
        values: dict[str, Any] = {"claimed_until": None, "claim_token": None}
        error: str | None = None
        if isinstance(outcome, Sent):
            status = "delivered"
            values.update(status=status, delivered_at=now, last_error=None)
        elif isinstance(outcome, Dead):
            status, error = "dead", outcome.error
            values.update(status=status, last_error=error)
        else:
            assert isinstance(outcome, Retry)
            attempts = max(a.attempts for a in alerts) + 1
            delay = retry_delay(
                attempts, outcome.retry_after, backoff=backoff, backoff_max=backoff_max
            )
            oldest = min(a.give_up_from for a in alerts)
            status = "dead" if (now - oldest).total_seconds() + delay > give_up_after else "pending"
            error = outcome.error
            values.update(
                status=status,
                last_error=error,
                next_attempt_at=now + timedelta(seconds=delay),
            )
        with self._begin() as conn:
            marked = conn.execute(
                update(outbox)
                .where(self._fenced(alerts))
                .values(attempts=outbox.c.attempts + 1, **values)
                .returning(outbox.c.id)
            ).scalars()
            done = sorted(marked)
            write_attempts(conn, done, now, status, error)
        return Marked(status, done, [a.id for a in alerts if a.id not in done])

    def rows(self, *, failed: bool = False, limit: int = 50) -> list[AlertRow]:
        query = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
        if failed:
            query = query.where(
                (outbox.c.status == "dead")
                | (outbox.c.last_error.is_not(None)) & (outbox.c.status == "pending")
            )
        with self._begin() as conn:
            found = conn.execute(query).all()
        return [
            AlertRow(
                r.id,
                r.idempotency_key,
                r.channel,
                r.rule_id,
                r.payload.get("document", {}).get("title", ""),
                r.status,
                r.attempts,
                r.last_error,
                r.created_at,
                r.delivered_at,
                r.next_attempt_at,
                r.requeued_at,
            )
            for r in found
        ]

    def requeue(self, now: datetime, alert_id: int | None = None, all_dead: bool = False) -> int:
        """Send dead (or failing) alerts again at the next delivery run.

        The give-up age starts again from `now`: counted from the alert's creation, a
        re-queued alert would die on its first transient failure. A claim in flight is
        kept, so the worker sending the row can still record what happened.
        """
        statement = update(outbox).values(status="pending", next_attempt_at=now, requeued_at=now)
        if alert_id is not None:
            statement = statement.where(outbox.c.id == alert_id, outbox.c.status != "delivered")
        elif all_dead:
            statement = statement.where(outbox.c.status == "dead")
        else:
            return 0
        with self._begin() as conn:
            return int(conn.execute(statement).rowcount)

    def depth(self) -> int:
        with self._begin() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(outbox).where(outbox.c.status == "pending")
                ).scalar_one()
            )
