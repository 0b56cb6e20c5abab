"""A channel that hangs holds up neither the other channels nor the delivery run."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from monitor.alerts import build_channels
from monitor.alerts.worker import DeliveryRun, deliver_due
from monitor.fixture_server import FixtureServer
from monitor.store import Store
from tests.alerts.conftest import (
    Clock,
    Hook,
    SilentServer,
    SmtpServer,
    email_options,
    queue,
    webhook_options,
)
from tests.conftest import fast_settings

TIMEOUT = 3.0  # MONITOR_DELIVERY_TIMEOUT for the run (the machine may be loaded)


def test_a_hung_smtp_server_times_out_while_the_webhook_is_delivered(
    tmp_path: Path, server: FixtureServer
) -> None:
    silent = SilentServer()  # accepts SMTP connections, never sends a greeting
    hook = Hook()
    server.routes["/hooks/ops"] = hook
    settings = fast_settings(
        tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=silent.port,
        smtp_from="monitor@example.org",
        delivery_timeout=TIMEOUT,
    )
    store = Store.open(settings.database_url)
    clock = Clock()
    queue(store, clock(), "mail", per_channel=12)  # more than one wave of 8 sends
    queue(store, clock(), "ops")
    channels = build_channels(
        {"mail": email_options(), "ops": webhook_options(server.url("/hooks/ops"))}, settings
    )

    async def run() -> tuple[DeliveryRun, float]:
        started = time.monotonic()
        try:
            return await deliver_due(store, channels, settings, clock), time.monotonic() - started
        finally:
            silent.stop()  # lets the SMTP threads still waiting for a greeting finish

    deliveries, elapsed = asyncio.run(run())
    # One deadline for the whole channel, not one per wave of sends (nor smtplib's 30 s).
    assert elapsed < 5 * TIMEOUT
    assert {(d.channel, d.status) for d in deliveries} == {
        ("ops", "delivered"),
        ("mail", "pending"),
        ("mail", "deferred"),
    }
    assert len(hook.received) == 1
    rows = [r for r in store.outbox.rows() if r.channel == "mail"]
    assert {r.status for r in rows} == {"pending"}
    timed_out = [r for r in rows if r.attempts == 1]
    assert len(timed_out) == 8
    assert {r.last_error for r in timed_out} == {"sending via 'mail' timed out after 3 s"}
    # The four that never got a turn are due at the next run, with no attempt counted.
    waiting = [r for r in rows if r.attempts == 0]
    assert len(waiting) == 4 and all(r.next_attempt_at <= clock() for r in waiting)

    # A working mail server takes over: every alert goes out once, the webhook's is not resent.
    smtp = SmtpServer().start()
    healed = settings.model_copy(update={"smtp_port": smtp.port})
    channels = build_channels(
        {"mail": email_options(), "ops": webhook_options(server.url("/hooks/ops"))}, healed
    )
    try:
        clock.advance(settings.delivery_backoff_max * 1.2)
        again = asyncio.run(deliver_due(store, channels, healed, clock))
    finally:
        smtp.stop()
    assert [(d.channel, d.status) for d in again] == [("mail", "delivered")] * 12
    assert len(smtp.inbox.messages) == 12 and len(hook.received) == 1
    store.close()
