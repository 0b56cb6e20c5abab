"""The delivery worker: claim due outbox rows, send each channel's alerts, mark them.

Channels run concurrently, so a slow or failing channel never holds up the others. A
digest channel's due alerts go out as one message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from monitor.alerts.base import Channel, Dead, OutboxAlert, Outcome, Retry, Sent
from monitor.pipeline import utcnow
from monitor.settings import Settings
from monitor.store import Store

log = logging.getLogger(__name__)
PER_CHANNEL_CONCURRENCY = 8  # messages in flight per channel


@dataclass
class Delivery:
    """What one send did."""

    channel: str
    alert_ids: list[int]
    keys: list[str]
    outcome: Outcome
    status: str
    subjects: list[str]


async def deliver_due(
    store: Store,
    channels: dict[str, Channel],
    settings: Settings,
    clock: Callable[[], datetime] = utcnow,
    *,
    after_send: Callable[[list[OutboxAlert], Outcome], None] | None = None,
) -> list[Delivery]:
    """One delivery run; `after_send` is a test hook between sending and marking.

    Runs in different threads or processes may overlap (claims keep them apart); two runs
    in one event loop must not share channel objects, whose connections each run closes.
    """
    now = clock()
    digests = {name: c.digest_seconds for name, c in channels.items() if c.digest_seconds}
    claimed = store.outbox.claim_due(now, settings.delivery_lease, digests)  # type: ignore[arg-type]
    by_channel: dict[str, list[OutboxAlert]] = {}
    for alert in claimed:
        by_channel.setdefault(alert.channel, []).append(alert)

    async def deliver(name: str, batch: list[OutboxAlert]) -> Delivery:
        channel = channels.get(name)
        if channel is None:
            outcome: Outcome = Dead(f"no channel named '{name}' in channels.yaml")
        else:
            try:
                outcome = await channel.send(batch)
            except Exception as err:  # noqa: BLE001 - a channel bug is a failed delivery
                log.exception("channel %s failed", name)
                outcome = Retry(f"internal error: {type(err).__name__}: {err}")
        if after_send is not None:
            after_send(batch, outcome)
        status = store.outbox.mark(
            batch,
            outcome,
            clock(),
            backoff=settings.delivery_backoff,
            backoff_max=settings.delivery_backoff_max,
            give_up_after=settings.delivery_give_up_after,
        )
        if not isinstance(outcome, Sent):
            log.warning("alert delivery via %s: %s (%s)", name, outcome, status)
        subjects = [f"[{a.payload['rule']['id']}] {a.payload['document']['title']}" for a in batch]
        keys = [a.key for a in batch]
        return Delivery(name, [a.id for a in batch], keys, outcome, status, subjects)

    async def run(name: str, alerts: list[OutboxAlert]) -> list[Delivery]:
        channel = channels.get(name)
        batches = [alerts] if channel and channel.digest_seconds else [[a] for a in alerts]
        gate = asyncio.Semaphore(PER_CHANNEL_CONCURRENCY)

        async def one(batch: list[OutboxAlert]) -> Delivery:
            async with gate:
                return await deliver(name, batch)

        return list(await asyncio.gather(*(one(b) for b in batches)))

    try:
        results = await asyncio.gather(*(run(n, a) for n, a in by_channel.items()))
    finally:
        await asyncio.gather(*(c.aclose() for c in channels.values()), return_exceptions=True)
    return [d for group in results for d in group]
