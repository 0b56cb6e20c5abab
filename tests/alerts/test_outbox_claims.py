"""Outbox claims, leases, backoff and give-up, with an injected clock (no sleeps).

Each worker's claim carries a token; every later write checks it, so a worker that
overran its lease can never undo what the worker that took over recorded.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.alerts import build_channels
from monitor.alerts.base import OutboxAlert, Outcome
from monitor.alerts.worker import deliver_due
from monitor.fixture_server import FixtureServer
from monitor.settings import Settings
from monitor.store import Store
from monitor.store.tables import outbox
from tests.alerts.conftest import Clock, Hook, queue, webhook_options
from tests.conftest import fast_settings


def hook_channels(server: FixtureServer, settings: Settings, **hooks: Hook) -> dict:  # type: ignore[type-arg]
    """Webhook channels named after the keyword, each answered by its Hook on loopback."""
    for name, hook in hooks.items():
        server.routes[f"/hooks/{name}"] = hook
    return build_channels(
        {name: webhook_options(server.url(f"/hooks/{name}")) for name in hooks}, settings
    )


def lease_of(store: Store) -> list[tuple[str, object]]:
    with store.engine.begin() as conn:
        return [tuple(r) for r in conn.execute(select(outbox.c.status, outbox.c.claimed_until))]


def test_a_worker_that_overran_its_lease_cannot_undo_a_delivery(
    tmp_path: Path, server: FixtureServer, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    settings = fast_settings(tmp_path)
    clock = Clock()
    queue(store, clock(), "ops")
    hook = Hook(statuses=[503, 200])
    channels = hook_channels(server, settings, ops=hook)
    taken_over: list[list[str]] = []

    def stall_then_another_worker_takes_over(batch: list[OutboxAlert], outcome: Outcome) -> None:
        # Worker A got a 503 but was too slow to record it: its lease ran out, and
        # worker B claimed the row and delivered it before A came to mark it.
        clock.advance(settings.delivery_lease + 1)

        def worker_b() -> None:
            run = asyncio.run(deliver_due(store, channels, settings, clock))
            taken_over.append([d.status for d in run])

        thread = threading.Thread(target=worker_b)
        thread.start()
        thread.join(timeout=30)

    with caplog.at_level(logging.WARNING, "monitor.alerts.worker"):
        run_a = asyncio.run(
            deliver_due(
                store, channels, settings, clock, after_send=stall_then_another_worker_takes_over
            )
        )
    assert taken_over == [["delivered"]]
    assert [d.status for d in run_a] == ["lost"]  # A's late "retry later" was not written
    assert "claim" in caplog.text and "another worker" in caplog.text
    [row] = store.outbox.rows()
    assert row.status == "delivered"
    clock.advance(3600)
    assert asyncio.run(deliver_due(store, channels, settings, clock)) == []
    assert len(hook.received) == 2  # A's 503 and B's 200: never a third send


def test_a_long_batch_extends_its_lease_while_it_is_sent(
    tmp_path: Path, server: FixtureServer, store: Store
) -> None:
    # A lease of 0.3 s: the worker extends it every 0.1 s of real time while it sends.
    settings = fast_settings(tmp_path, delivery_lease=0.3)
    clock = Clock()
    queue(store, clock(), "ops")
    seen: list[object] = []

    def slow_receiver(req: object) -> None:
        # The send outlasts the original lease: another worker looking now must find
        # the row still claimed, because the lease was extended from the clock's now.
        clock.advance(10)
        deadline = time.monotonic() + 5  # within the webhook client's timeout
        while time.monotonic() < deadline:
            [(_, until)] = lease_of(store)
            if until is not None and until > clock():  # type: ignore[operator]
                break
            time.sleep(0.01)
        seen.append(store.outbox.claim_due(clock(), settings.delivery_lease, {}))
        Hook()(req)  # type: ignore[arg-type]

    server.routes["/hooks/ops"] = slow_receiver
    channels = build_channels({"ops": webhook_options(server.url("/hooks/ops"))}, settings)
    run = asyncio.run(deliver_due(store, channels, settings, clock))
    assert seen == [[]]  # nobody else could claim it
    assert [d.status for d in run] == ["delivered"]


def test_a_requeued_alert_gets_a_new_give_up_clock(
    tmp_path: Path, server: FixtureServer, store: Store
) -> None:
    settings = fast_settings(tmp_path)
    clock = Clock()
    queue(store, clock(), "ops")
    channels = hook_channels(server, settings, ops=Hook(statuses=[503]))
    clock.advance(settings.delivery_give_up_after + 1)
    assert [d.status for d in asyncio.run(deliver_due(store, channels, settings, clock))] == [
        "dead"
    ]
    assert store.outbox.requeue(clock(), all_dead=True) == 1
    # The receiver is still failing: a re-queued alert retries with backoff, it does
    # not die on its first transient failure because of its original age.
    statuses = [d.status for d in asyncio.run(deliver_due(store, channels, settings, clock))]
    assert statuses == ["pending"]
    # … and gives up again once a full give-up age has passed since the re-queue.
    for _ in range(60):
        [row] = store.outbox.rows()
        if row.status == "dead":
            break
        clock.now = row.next_attempt_at
        asyncio.run(deliver_due(store, channels, settings, clock))
    [row] = store.outbox.rows()
    assert row.status == "dead"
    assert row.requeued_at is not None
    assert clock() - row.requeued_at > timedelta(hours=22)  # its second day of retries


def test_alerts_for_a_channel_this_replica_does_not_know_stay_pending(
    tmp_path: Path, server: FixtureServer, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    # Rolling deploy: the new replica knows "chat", the old one does not yet.
    settings = fast_settings(tmp_path)
    clock = Clock()
    queue(store, clock(), "ops", "chat")
    ops, chat = Hook(), Hook()
    old = hook_channels(server, settings, ops=ops)
    with caplog.at_level(logging.WARNING, "monitor.alerts.worker"):
        run = asyncio.run(deliver_due(store, old, settings, clock))
    assert [(d.channel, d.status) for d in run] == [("ops", "delivered")]
    assert run.waiting_for_unknown == 1
    assert "'chat'" in caplog.text and "channels.yaml" in caplog.text
    waiting = [r for r in store.outbox.rows() if r.channel == "chat"]
    assert [(r.status, r.attempts, r.last_error) for r in waiting] == [("pending", 0, None)]

    new = hook_channels(server, settings, ops=ops, chat=chat)
    run = asyncio.run(deliver_due(store, new, settings, clock))
    assert [(d.channel, d.status) for d in run] == [("chat", "delivered")]
    assert run.waiting_for_unknown == 0
    assert len(ops.received) == 1 and len(chat.received) == 1


def _retry_after(tmp_path: Path, server: FixtureServer, store: Store, value: str) -> float:
    """Seconds until the next attempt after a 429 answered with `Retry-After: value`."""
    settings = fast_settings(tmp_path)
    clock = Clock()
    queue(store, clock(), "ops")
    channels = hook_channels(
        server, settings, ops=Hook(statuses=[429], headers={"Retry-After": value})
    )
    [delivery] = asyncio.run(deliver_due(store, channels, settings, clock))
    assert delivery.status == "pending"
    [row] = store.outbox.rows()
    return (row.next_attempt_at - clock()).total_seconds()


def test_retry_after_zero_keeps_the_normal_backoff(
    tmp_path: Path, server: FixtureServer, store: Store
) -> None:
    assert 24 <= _retry_after(tmp_path, server, store, "0") <= 36  # 30 s, with jitter


def test_retry_after_beyond_the_give_up_age_waits_an_hour_instead_of_dying(
    tmp_path: Path, server: FixtureServer, store: Store
) -> None:
    assert _retry_after(tmp_path, server, store, "90000") == 3600


def test_a_huge_retry_after_is_capped_not_an_error(
    tmp_path: Path, server: FixtureServer, store: Store
) -> None:
    assert _retry_after(tmp_path, server, store, "9" * 40) == 3600


def test_one_alert_that_cannot_be_recorded_does_not_stop_the_others(
    tmp_path: Path, server: FixtureServer, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = fast_settings(tmp_path)
    clock = Clock()
    queue(store, clock(), "ops", per_channel=3)
    hook = Hook()
    channels = hook_channels(server, settings, ops=hook)
    mark = store.outbox.mark
    broken = min(r.id for r in store.outbox.rows())

    def flaky_mark(alerts, *args, **kwargs):  # type: ignore[no-untyped-def]
        if alerts[0].id == broken:
            raise OverflowError("date value out of range")
        return mark(alerts, *args, **kwargs)

    monkeypatch.setattr(store.outbox, "mark", flaky_mark)
    run = asyncio.run(deliver_due(store, channels, settings, clock))
    assert sorted(d.status for d in run) == ["delivered", "delivered", "error"]
    statuses = {r.id: r.status for r in store.outbox.rows()}
    assert statuses.pop(broken) == "pending"  # retried once its lease expires
    assert set(statuses.values()) == {"delivered"}


def test_the_service_shows_alerts_waiting_for_an_unknown_channel_in_metrics(
    tmp_path: Path, server: FixtureServer
) -> None:
    from monitor.service import Service

    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.yaml").write_text(
        f"sources:\n  - {{id: state, type: rss, url: '{server.url('/feed')}', every: 10m}}\n"
    )
    (config / "rules.yaml").write_text(
        "rules:\n  - {id: biegun, name: Biegun, query: biegun, notify: [ops]}\n"
    )
    server.routes["/hooks/ops"] = Hook()
    (config / "channels.yaml").write_text(
        f"channels:\n  ops: {{type: webhook, url: '{server.url('/hooks/ops')}'}}\n"
    )
    service = Service(fast_settings(tmp_path, config_dir=config))
    queue(service.store, datetime.now(UTC), "ops", "chat", per_channel=2)  # the service's clock
    asyncio.run(service.deliver())
    registry = service.metrics.registry
    assert registry.get_sample_value("monitor_outbox_unknown_channel_alerts") == 2
    assert registry.get_sample_value("monitor_outbox_depth") == 2
    sent = {"channel": "ops", "status": "delivered"}
    assert registry.get_sample_value("monitor_alerts_total", sent) == 2
    service.store.close()


def test_alerts_for_a_channel_that_is_off_say_it_is_off_and_how_to_turn_it_on(
    tmp_path: Path, store: Store, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The shipped channels.yaml with OPS_WEBHOOK_URL unset: ops-webhook is defined but off,
    # as `monitor once` delivers (deliver_backlog), not "not defined by channels.yaml".
    from monitor.cli.alerts import deliver_backlog
    from monitor.config import load_config
    from tests.conftest import CONFIG

    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.delenv("OPS_WEBHOOK_URL", raising=False)
    monkeypatch.setenv("POLICY_EMAIL_TO", "analysts@example.org")
    config = load_config(CONFIG)
    assert "ops-webhook" in config.off
    settings = fast_settings(tmp_path)
    queue(store, datetime.now(UTC), "ops-webhook")
    with caplog.at_level(logging.WARNING, "monitor.alerts.worker"):
        backlog = deliver_backlog(store, config, settings)
    assert backlog.remaining == 1
    assert "does not define" not in caplog.text
    assert (
        "1 alert(s) wait for channel 'ops-webhook', which is off on this replica: set "
        "OPS_WEBHOOK_URL (in the environment or .env) to turn it on; they stay pending "
        "until then"
    ) in caplog.text
