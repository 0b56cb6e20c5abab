"""The outbox half of the store: alerts waiting to be delivered, claimed by workers.

Guarantees: an alert row exists at most once per (rule, document, version, channel)
(unique idempotency key); it is written in the transaction that stores the match; a worker
claims a row with a conditional UPDATE (a lease), so two workers never send the same row
at once; a worker that dies after sending but before marking leaves the lease to expire,
and the resend carries the same idempotency key.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from monitor.alerts.base import Dead, OutboxAlert, Outcome, Retry, Sent
from monitor.store.tables import outbox


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


def write_alerts(conn: Connection, alerts: list[NewAlert], now: datetime) -> None:
    """Enqueue alerts; a row whose idempotency key exists already is left alone."""
    if not alerts:
        return
    insert = sqlite_insert if conn.dialect.name == "sqlite" else postgresql_insert
    statement = insert(outbox).on_conflict_do_nothing(index_elements=["idempotency_key"])
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


class Outbox:
    """Claiming, marking and listing outbox rows."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def claim_due(
        self, now: datetime, lease: float, digests: dict[str, int], limit: int = 200
    ) -> list[OutboxAlert]:
        """Claim pending rows that are due; a digest channel's rows once its window closed.

        One UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) … RETURNING: on
        PostgreSQL a row another worker is claiming is skipped, never waited for; SQLite
        runs one writer at a time anyway.
        """
        claimable = (
            (outbox.c.status == "pending")
            & (outbox.c.next_attempt_at <= now)
            & ((outbox.c.claimed_until.is_(None)) | (outbox.c.claimed_until < now))
        )
        blocked: list[str] = []
        if digests:
            with self.engine.begin() as conn:
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
        statement = (
            update(outbox)
            .where(outbox.c.id.in_(candidates.scalar_subquery()), claimable)
            .values(claimed_until=now + timedelta(seconds=lease), claim_token=uuid.uuid4().hex)
            .returning(
                outbox.c.id,
                outbox.c.idempotency_key,
                outbox.c.channel,
                outbox.c.payload,
                outbox.c.attempts,
                outbox.c.created_at,
            )
        )
        with self.engine.begin() as conn:
            rows = conn.execute(statement).all()
        return sorted(
            (
                OutboxAlert(r.id, r.idempotency_key, r.channel, r.payload, r.attempts, r.created_at)
                for r in rows
            ),
            key=lambda a: a.id,
        )

    def mark(
        self,
        alerts: list[OutboxAlert],
        outcome: Outcome,
        now: datetime,
        *,
        backoff: float,
        backoff_max: float,
        give_up_after: float,
    ) -> str:
        """Record a delivery attempt; returns the new status."""
        ids = [a.id for a in alerts]
        values: dict[str, Any] = {"claimed_until": None, "claim_token": None}
        if isinstance(outcome, Sent):
            status = "delivered"
            values.update(status=status, delivered_at=now, last_error=None)
        elif isinstance(outcome, Dead):
            status = "dead"
            values.update(status=status, last_error=outcome.error)
        else:
            assert isinstance(outcome, Retry)
            attempts = max(a.attempts for a in alerts) + 1
            delay = min(backoff_max, backoff * 2 ** (attempts - 1)) * random.uniform(0.8, 1.2)
            if outcome.retry_after is not None:
                delay = max(outcome.retry_after, 0.0)
            oldest = min(a.created_at for a in alerts)
            status = "dead" if (now - oldest).total_seconds() + delay > give_up_after else "pending"
            values.update(
                status=status,
                last_error=outcome.error,
                next_attempt_at=now + timedelta(seconds=delay),
            )
        with self.engine.begin() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(ids))
                .values(attempts=outbox.c.attempts + 1, **values)
            )
        return status

    def rows(self, *, failed: bool = False, limit: int = 50) -> list[AlertRow]:
        query = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
        if failed:
            query = query.where(
                (outbox.c.status == "dead")
                | (outbox.c.last_error.is_not(None)) & (outbox.c.status == "pending")
            )
        with self.engine.begin() as conn:
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
            )
            for r in found
        ]

    def requeue(self, now: datetime, alert_id: int | None = None, all_dead: bool = False) -> int:
        """Send dead (or failing) alerts again at the next delivery run."""
        statement = update(outbox).values(
            status="pending", next_attempt_at=now, claimed_until=None, claim_token=None
        )
        if alert_id is not None:
            statement = statement.where(outbox.c.id == alert_id, outbox.c.status != "delivered")
        elif all_dead:
            statement = statement.where(outbox.c.status == "dead")
        else:
            return 0
        with self.engine.begin() as conn:
            return int(conn.execute(statement).rowcount)

    def depth(self) -> int:
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(outbox).where(outbox.c.status == "pending")
                ).scalar_one()
            )
