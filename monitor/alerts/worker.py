"""The delivery worker: claim due outbox rows, send each channel's alerts, mark them.

Channels run concurrently, so a slow or failing channel never holds up the others; each
send has a deadline (MONITOR_DELIVERY_TIMEOUT), and once a send to a channel timed out the
channel's remaining alerts wait for the next run instead of each waiting out the deadline.
A digest channel's due alerts go out as one message. While a run sends, it extends the
lease of the rows it still holds; every write is fenced by the claim's token (see
monitor.store.outbox), so a worker that lost its claim changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.alerts.base import Channel, OutboxAlert, Outcome, Retry, Sent
from monitor.errors import StoreError
from monitor.pipeline import utcnow
from monitor.settings import Settings
from monitor.store import Store
from monitor.store.outbox import ClaimedAlert

log = logging.getLogger(__name__)
PER_CHANNEL_CONCURRENCY = 8  # messages in flight per channel


@dataclass
class Delivery:
    """What one send did.

    `status` is the row's new state (delivered, pending, dead), or: `lost` (the lease had
    expired and another worker took the rows over, so nothing was written), `deferred`
    (not sent: the channel timed out earlier in the run) or `error` (the outcome could not
    be recorded; the rows are retried when their lease expires).
    """

    channel: str
    alert_ids: list[int]
    keys: list[str]
    outcome: Outcome
    status: str
    subjects: list[str]


class DeliveryRun(list[Delivery]):
    """The deliveries of one run, and how many alerts wait for a channel it does not know."""

    def __init__(self, deliveries: Iterable[Delivery] = (), waiting_for_unknown: int = 0) -> None:
        super().__init__(deliveries)
        self.waiting_for_unknown = waiting_for_unknown


def _subject(alert: OutboxAlert) -> str:
    payload: dict[str, Any] = alert.payload
    rule = payload.get("rule", {}).get("id", "?")
    return f"[{rule}] {payload.get('document', {}).get('title', '')}"


def _delivery(channel: str, batch: list[ClaimedAlert], outcome: Outcome, status: str) -> Delivery:
    ids, keys = [a.id for a in batch], [a.key for a in batch]
    return Delivery(channel, ids, keys, outcome, status, [_subject(a) for a in batch])


async def deliver_due(
    store: Store,
    channels: dict[str, Channel],
    settings: Settings,
    clock: Callable[[], datetime] = utcnow,
    *,
    after_send: Callable[[list[OutboxAlert], Outcome], None] | None = None,
    off: Mapping[str, Sequence[str]] | None = None,
) -> DeliveryRun:
    """One delivery run; `after_send` is a test hook between sending and marking.

    `off`: the optional channels channels.yaml defines but that are off here (channel →
    the variables that turn it on), so that their waiting alerts are named as such.

    Runs in different threads or processes may overlap (claims keep them apart); two runs
    in one event loop must not share channel objects, whose connections each run closes.
    Alerts for channels not in `channels` stay pending for a replica that knows them.
    """
    outbox = store.outbox
    try:
        waiting = outbox.waiting_for_unknown(channels)
        digests = {name: c.digest_seconds for name, c in channels.items() if c.digest_seconds}
        claimed = outbox.claim_due(clock(), settings.delivery_lease, digests, channels=channels)
    except StoreError as err:
        # Nothing was claimed, so nothing is lost: the rows wait, unchanged, for a run that
        # reaches the database. One line per run, no traceback: an outage is not a bug.
        log.error("delivery run skipped: %s; the queued alerts wait for the next run", err)
        await asyncio.gather(*(c.aclose() for c in channels.values()), return_exceptions=True)
        return DeliveryRun()
    for name, count in sorted(waiting.items()):
        if off and name in off:
            log.warning(
                "%d alert(s) wait for channel '%s', which is off on this replica: set %s "
                "(in the environment or .env) to turn it on; they stay pending until then",
                count,
                name,
                " and ".join(off[name]) or "its variables",
                extra={"channel": name},
            )
            continue
        log.warning(
            "%d alert(s) wait for channel '%s', which this replica's channels.yaml does not "
            "define; they stay pending for a replica that knows it",
            count,
            name,
            extra={"channel": name},
        )
    by_channel: dict[str, list[ClaimedAlert]] = {}
    for alert in claimed:
        by_channel.setdefault(alert.channel, []).append(alert)
    in_flight: dict[int, ClaimedAlert] = {a.id: a for a in claimed}
    timeout = settings.delivery_timeout

    async def send(name: str, batch: list[ClaimedAlert]) -> tuple[Outcome, bool]:
        """The channel's outcome, and whether the send ran out of time."""
        try:
            async with asyncio.timeout(timeout):
                return await channels[name].send(list(batch)), False
        except TimeoutError:
            return Retry(f"sending via '{name}' timed out after {timeout:g} s"), True
        except Exception as err:  # noqa: BLE001 - a channel bug is a failed delivery
            log.exception("channel %s failed", name, extra={"channel": name})
            return Retry(f"internal error: {type(err).__name__}: {err}"), False

    def record(name: str, batch: list[ClaimedAlert], outcome: Outcome) -> list[Delivery]:
        try:
            marked = outbox.mark(
                batch,
                outcome,
                clock(),
                backoff=settings.delivery_backoff,
                backoff_max=settings.delivery_backoff_max,
                give_up_after=settings.delivery_give_up_after,
            )
        except Exception:  # noqa: BLE001 - one batch's failure must not abandon the others
            log.exception(
                "could not record the delivery of alert(s) %s via %s; "
                "they are retried when their lease expires",
                [a.id for a in batch],
                name,
                extra={"channel": name},
            )
            return [_delivery(name, batch, outcome, "error")]
        deliveries = []
        if marked.marked:
            done = [a for a in batch if a.id in marked.marked]
            deliveries.append(_delivery(name, done, outcome, marked.status))
            if not isinstance(outcome, Sent):
                detail = str(outcome)
                if isinstance(outcome, Retry) and marked.status == "dead":
                    detail = (
                        f"failed: {outcome.error}; given up (older than "
                        "MONITOR_DELIVERY_GIVE_UP_AFTER)"
                    )
                log.warning(
                    "alert %s via %s: %s",
                    ", ".join(str(i) for i in marked.marked),
                    name,
                    detail,
                    extra={"channel": name, "rule": batch[0].payload.get("rule", {}).get("id")},
                )
        if marked.lost:
            log.warning(
                "alert(s) %s via %s: the claim was lost (the lease expired and another worker "
                "took them over); what that worker recorded stands, this %s is not written",
                marked.lost,
                name,
                "success" if isinstance(outcome, Sent) else "outcome",
                extra={"channel": name},
            )
            lost = [a for a in batch if a.id in marked.lost]
            deliveries.append(_delivery(name, lost, outcome, "lost"))
        return deliveries

    async def run(name: str, alerts: list[ClaimedAlert]) -> list[Delivery]:
        batches = [alerts] if channels[name].digest_seconds else [[a] for a in alerts]
        gate = asyncio.Semaphore(PER_CHANNEL_CONCURRENCY)
        hung: list[Outcome] = []  # a send timed out: the channel's other alerts wait

        async def one(batch: list[ClaimedAlert]) -> list[Delivery]:
            async with gate:
                try:
                    if hung:
                        return defer(name, batch, hung[0])
                    outcome, timed_out = await send(name, batch)
                    if timed_out:
                        hung.append(outcome)
                    if after_send is not None:
                        after_send(list(batch), outcome)
                    return record(name, batch, outcome)
                finally:
                    for alert in batch:
                        in_flight.pop(alert.id, None)

        return [d for group in await asyncio.gather(*(one(b) for b in batches)) for d in group]

    def defer(name: str, batch: list[ClaimedAlert], cause: Outcome) -> list[Delivery]:
        outcome = Retry(f"not sent in this run: an earlier send via '{name}' timed out")
        try:
            outbox.release(batch)
        except Exception:  # noqa: BLE001 - the lease expires on its own
            log.exception("could not release alert(s) %s", [a.id for a in batch])
        log.warning(
            "alert via %s deferred to the next delivery run: %s",
            name,
            cause,
            extra={"channel": name},
        )
        return [_delivery(name, batch, outcome, "deferred")]

    async def keep_claimed() -> None:
        # A lease is extended well before it runs out, so a long batch (hundreds of rows,
        # a slow SMTP server) keeps its rows; rows already marked are no longer held.
        while True:
            await asyncio.sleep(settings.delivery_lease / 3)
            try:
                outbox.extend(list(in_flight.values()), clock(), settings.delivery_lease)
            except Exception:  # noqa: BLE001 - the fence still protects the rows
                log.exception("could not extend the delivery lease")

    heartbeat = asyncio.create_task(keep_claimed()) if claimed else None
    try:
        results = await asyncio.gather(*(run(n, a) for n, a in by_channel.items()))
    finally:
        if heartbeat is not None:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        await asyncio.gather(*(c.aclose() for c in channels.values()), return_exceptions=True)
    return DeliveryRun(
        (d for group in results for d in group), waiting_for_unknown=sum(waiting.values())
    )
