"""Alerts from recorded releases to real servers on loopback, faults included."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from monitor.alerts.worker import deliver_due
from monitor.fixture_server import FixtureServer
from monitor.store import Store
from tests.alerts.conftest import (
    Hook,
    SmtpServer,
    email_options,
    hook_desk,
    make_desk,
    webhook_options,
)


def smtp_settings(smtp: SmtpServer) -> dict[str, object]:
    return {"smtp_host": "127.0.0.1", "smtp_port": smtp.port}


def test_email_alert_for_the_media_note(
    tmp_path: Path, production_server: FixtureServer, smtp: SmtpServer
) -> None:
    smtp.start()
    desk = make_desk(
        tmp_path,
        production_server,
        {"policy-email": email_options()},
        settings_overrides=smtp_settings(smtp),
    )
    deliveries = desk.deliver()
    assert {d.status for d in deliveries} == {"delivered"} and len(deliveries) == 2
    by_subject = {m["Subject"]: (rcpt, m) for rcpt, m in smtp.inbox.messages}
    rcpt, message = by_subject["[monitor] Stephen Biegun mentioned: U.S.-ROK Working Group"]
    assert rcpt == ["analysts@example.org"]
    assert message["From"] == "monitor@example.org"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    link = "https://2017-2021.state.gov/briefings-statements/2018-11-20/"
    assert "Special Representative for North Korea Stephen **Biegun** and" in text
    assert "Stephen <strong>Biegun</strong> and" in html
    assert link in text and f'href="{link}"' in html
    assert "Media Note" in text and "20 November 2018 21:06 UTC" in text
    key = next(d.keys[0] for d in deliveries if "U.S.-ROK Working Group" in d.subjects[0])
    assert message["Message-ID"] == f"<{key}@example.org>"


def test_webhook_is_signed_and_follows_the_schema(
    tmp_path: Path, production_server: FixtureServer
) -> None:
    hook = Hook()
    production_server.routes["/hooks/ops"] = hook
    desk = make_desk(
        tmp_path,
        production_server,
        {"ops-webhook": webhook_options(production_server.url("/hooks/ops"))},
        settings_overrides={"webhook_secret": "s3cret"},
    )
    desk.deliver()
    assert len(hook.received) == 2
    headers, raw = next((h, b) for h, b in hook.received if b"Working Group" in b)
    signed = headers["X-Monitor-Timestamp"].encode() + b"." + raw  # see README
    expected = "sha256=" + hmac.new(b"s3cret", signed, hashlib.sha256).hexdigest()
    assert headers["X-Monitor-Signature"] == expected
    payload = json.loads(raw)
    assert headers["Idempotency-Key"] == payload["id"]
    assert payload["type"] == "monitor.alert" and payload["schema"] == 1
    assert payload["rule"] == {
        "id": "biegun",
        "name": "Stephen Biegun mentioned",
        "query": "biegun",
    }
    document = payload["document"]
    assert document["title"] == "U.S.-ROK Working Group"
    assert document["kind"] == "Media Note"
    assert document["published_at"] == "2018-11-20T21:06:00Z"
    assert document["url"] == "https://2017-2021.state.gov/briefings-statements/2018-11-20/"
    [match] = payload["matches"]
    assert match["field"] == "body" and match["terms"] == ["Biegun"]
    assert "Stephen Biegun" in match["snippet"]
    assert payload["update"] is False


def test_slack_format_sends_text_with_the_link(
    tmp_path: Path, production_server: FixtureServer
) -> None:
    hook = Hook()
    production_server.routes["/hooks/slack"] = hook
    desk = make_desk(
        tmp_path,
        production_server,
        {"chat": webhook_options(production_server.url("/hooks/slack"), format="slack")},
    )
    desk.deliver()
    texts = [json.loads(body)["text"] for _, body in hook.received]
    note = next(t for t in texts if "Working Group" in t)
    assert note.startswith(
        "*[monitor] Stephen Biegun mentioned*: "
        "<https://2017-2021.state.gov/briefings-statements/2018-11-20/|"
    )


def test_smtp_down_then_up_delivers_exactly_once(
    tmp_path: Path, production_server: FixtureServer, smtp: SmtpServer
) -> None:
    desk = make_desk(
        tmp_path,
        production_server,
        {"policy-email": email_options()},
        settings_overrides=smtp_settings(smtp),
    )
    first = desk.deliver()
    assert {d.status for d in first} == {"pending"}
    # The error names the server it could not reach (ops set its address).
    where = f"SMTP server 127.0.0.1:{smtp.port} unreachable"
    assert all(where in d.outcome.error for d in first)  # type: ignore[union-attr]
    desk.clock.advance(10)
    assert desk.deliver() == []  # not due yet: backing off
    smtp.start()
    desk.clock.advance(60)
    assert {d.status for d in desk.deliver()} == {"delivered"}
    desk.clock.advance(3600)
    assert desk.deliver() == []
    assert len(smtp.inbox.messages) == 2  # one per release, each once


def test_webhook_500_500_200_is_delivered_once_after_two_retries(
    tmp_path: Path,
    production_server: FixtureServer,
) -> None:
    hook = Hook(statuses=[500, 500, 200])
    desk = hook_desk(tmp_path, production_server, hook)
    statuses = []
    for _ in range(5):
        statuses += [d.status for d in desk.deliver()]
        desk.clock.advance(3600)
    assert statuses == ["pending", "pending", "delivered"]
    assert len(hook.received) == 3
    assert len({h["Idempotency-Key"] for h, _ in hook.received}) == 1
    [row] = desk.store.outbox.rows()
    assert (row.status, row.attempts) == ("delivered", 3)


@pytest.mark.slow
def test_webhook_400_is_dead_at_once_then_retried_by_hand(
    tmp_path: Path,
    production_server: FixtureServer,
) -> None:
    import subprocess

    from tests.inprocess import run_monitor

    hook = Hook(statuses=[400, 200])
    desk = hook_desk(tmp_path, production_server, hook)
    [delivery] = desk.deliver()
    assert delivery.status == "dead" and "HTTP 400" in delivery.outcome.error  # type: ignore[union-attr]
    env = {"MONITOR_DATABASE_URL": desk.settings.database_url}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return run_monitor(*args, env=env)

    failed = cli("alerts", "--failed")
    assert "dead" in failed.stdout and "webhook answered HTTP 400" in failed.stdout
    alert_id = failed.stdout.splitlines()[1].split()[0]
    retried = cli("alerts", "retry", alert_id)
    assert retried.returncode == 0 and "Re-queued 1 alert." in retried.stdout
    desk.clock.advance(120)  # the CLI re-queued it at the wall clock's "now"
    assert [d.status for d in desk.deliver()] == ["delivered"]
    assert "No failed alerts." in cli("alerts", "--failed").stdout


def test_crash_between_send_and_mark_resends_with_the_same_key(
    tmp_path: Path,
    production_server: FixtureServer,
) -> None:
    hook = Hook()
    desk = hook_desk(tmp_path, production_server, hook)

    def die(*_: object) -> None:
        raise SystemExit("killed after sending, before marking")

    with pytest.raises(SystemExit):
        desk.deliver(after_send=die)
    assert desk.deliver() == []  # still leased to the dead worker
    desk.clock.advance(desk.settings.delivery_lease + 1)
    assert [d.status for d in desk.deliver()] == ["delivered"]
    keys = [h["Idempotency-Key"] for h, _ in hook.received]
    assert len(keys) == 2 and keys[0] == keys[1]


def test_two_workers_at_once_never_send_a_row_twice(
    tmp_path: Path,
    production_server: FixtureServer,
    store: Store,
) -> None:
    # The receiver holds every request until one worker has finished its run, so the two
    # runs overlap: whichever claimed rows is still sending while the other claims.
    one_done = threading.Event()
    hook = Hook(gate=one_done)
    production_server.routes["/hooks/busy"] = hook
    desk = make_desk(
        tmp_path,
        production_server,
        {"ops": webhook_options(production_server.url("/hooks/busy"))},
        store=store,
        sources=["state-press-releases", "yonhap-north-korea"],
    )
    other = Store.open(str(store.engine.url.render_as_string(hide_password=False)), migrate=False)
    results: list[list[str]] = [[], []]

    def worker(index: int, s: Store) -> None:
        try:
            deliveries = asyncio.run(deliver_due(s, desk.channels, desk.settings, desk.clock))
            results[index] = [k for d in deliveries for k in d.keys]
        finally:
            one_done.set()

    threads = [threading.Thread(target=worker, args=(i, s)) for i, s in enumerate([store, other])]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    sent = [h["Idempotency-Key"] for h, _ in hook.received]
    assert len(sent) == 3 and len(set(sent)) == 3
    assert sorted(results[0] + results[1]) == sorted(sent)
    other.close()


def test_429_waits_for_retry_after(tmp_path: Path, production_server: FixtureServer) -> None:
    limited = Hook(statuses=[429, 200], headers={"Retry-After": "120"})
    desk = hook_desk(tmp_path, production_server, limited)
    assert [d.status for d in desk.deliver()] == ["pending"]
    desk.clock.advance(100)
    assert desk.deliver() == []  # Retry-After said 120 s
    desk.clock.advance(30)
    assert [d.status for d in desk.deliver()] == ["delivered"]


def test_a_slow_channel_does_not_hold_up_the_others(
    tmp_path: Path,
    production_server: FixtureServer,
) -> None:
    # The slow receiver answers only once the fast one has received its alert: were the
    # channels sent one after the other, the slow one would wait out its 30 s gate.
    fast_arrived = threading.Event()
    slow, fast = Hook(gate=fast_arrived), Hook()

    def fast_handler(req: BaseHTTPRequestHandler) -> None:
        fast(req)
        fast_arrived.set()

    production_server.routes["/hooks/slow"] = slow
    production_server.routes["/hooks/fast"] = fast_handler
    desk = make_desk(
        tmp_path,
        production_server,
        {
            "slow": webhook_options(production_server.url("/hooks/slow")),
            "fast": webhook_options(production_server.url("/hooks/fast")),
        },
        query='"Working Group" AND title:ROK',
    )
    statuses = {d.channel: d.status for d in desk.deliver()}
    assert statuses == {"slow": "delivered", "fast": "delivered"}
    assert slow.gate_opened == [True]  # the fast alert arrived while the slow one waited


def test_email_templates_can_be_overridden_from_the_config_dir(
    tmp_path: Path,
    production_server: FixtureServer,
    smtp: SmtpServer,
) -> None:
    templates = tmp_path / "config" / "templates"
    templates.mkdir(parents=True)
    (templates / "alert.txt").write_text("DESK ALERT: {{ document.title }} <{{ document.url }}>\n")
    smtp.start()
    desk = make_desk(
        tmp_path,
        production_server,
        {"mail": email_options()},
        query='"Working Group" AND title:ROK',
        settings_overrides={**smtp_settings(smtp), "config_dir": tmp_path / "config"},
    )
    desk.deliver()
    [(_, message)] = smtp.inbox.messages
    text = message.get_body(("plain",)).get_content()
    assert text.strip() == (
        "DESK ALERT: U.S.-ROK Working Group "
        "<https://2017-2021.state.gov/briefings-statements/2018-11-20/>"
    )
    assert "<strong>" in message.get_body(("html",)).get_content()  # the packaged HTML


def test_failing_alert_dies_after_the_give_up_age_and_can_be_requeued(
    tmp_path: Path,
    production_server: FixtureServer,
) -> None:
    from datetime import UTC, datetime

    hook = Hook(statuses=[503])
    desk = hook_desk(tmp_path, production_server, hook)
    statuses: list[str] = []
    delays: list[float] = []
    for _ in range(40):
        statuses += [d.status for d in desk.deliver()]
        [row] = desk.store.outbox.rows()
        if row.status == "dead":
            break
        delays.append((row.next_attempt_at - desk.clock()).total_seconds())
        desk.clock.now = row.next_attempt_at
    assert statuses[-1] == "dead" and set(statuses[:-1]) == {"pending"}
    assert 24 <= delays[0] <= 36 and 48 <= delays[1] <= 72  # 30 s, doubling, with jitter
    assert max(delays) <= 3600 * 1.2
    [row] = desk.store.outbox.rows(failed=True)
    assert row.last_error == "webhook answered HTTP 503"
    assert desk.store.outbox.requeue(datetime.now(UTC), all_dead=True) == 1
    assert desk.store.outbox.rows()[0].status == "pending"


def test_per_channel_secret_from_its_environment_variable(
    tmp_path: Path,
    production_server: FixtureServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DESK_HOOK_SECRET", "per-channel")
    hook = Hook()
    production_server.routes["/hooks/desk"] = hook
    desk = make_desk(
        tmp_path,
        production_server,
        {
            "desk": webhook_options(
                production_server.url("/hooks/desk"), secret_env="DESK_HOOK_SECRET"
            )
        },
        query='"Working Group" AND title:ROK',
        settings_overrides={"webhook_secret": "global"},
    )
    desk.deliver()
    [(headers, raw)] = hook.received
    signed = headers["X-Monitor-Timestamp"].encode() + b"." + raw  # see README
    expected = "sha256=" + hmac.new(b"per-channel", signed, hashlib.sha256).hexdigest()
    assert headers["X-Monitor-Signature"] == expected
