"""The overview's Channels section, `GET /api/channels` and /healthz for channels: a
failing, hung or backlogged channel shows, with its queue and last error, and no secret."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from monitor import service
from monitor.alerts import build_channels
from monitor.alerts.base import ChannelOptions
from monitor.alerts.worker import deliver_due
from monitor.fixture_server import FixtureServer
from monitor.store import Store
from monitor.store.outbox import write_attempts
from monitor.store.tables import outbox
from monitor.web import Live
from monitor.web.channels import DELIVERY_EVERY, channel_infos, redact
from tests.alerts.conftest import Hook, email_options, queue, webhook_options
from tests.conftest import fast_settings
from tests.web.conftest import NOW, Client

SECRET = "tok-9f8e7d6c5b4a"  # a webhook's token, in its URL's query string
HOSTILE = '<script>alert("owned")</script>'


def deliver(
    store: Store, tmp_path: Path, options: dict[str, ChannelOptions], **settings: object
) -> None:
    """One run of the real delivery worker, a few seconds before the pages' NOW."""
    values = fast_settings(tmp_path, smtp_from="monitor@example.org", **settings)
    channels = build_channels(options, values)
    asyncio.run(deliver_due(store, channels, values, lambda: NOW - timedelta(seconds=5)))


def live(options: dict[str, ChannelOptions]) -> Live:
    return Live(sources=(), scheduler=True, rules=1, channels=channel_infos(options))


def row_of(html: str, name: str) -> str:
    found = re.search(rf'<tr id="channel-{name}"[^>]*>.*?</tr>', html, re.S)
    assert found, f"no row for channel {name}"
    return found.group()


@pytest.fixture
def hook_url(server: FixtureServer) -> str:
    """The 'ops' webhook's URL: its token is in the query string."""
    return server.url(f"/hooks/ops?token={SECRET}")


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    opened = threading.Event()
    yield opened
    opened.set()  # a hung receiver lets go when the test ends


def test_a_webhook_answering_500_shows_failing(
    client: Client, web_store: Store, server: FixtureServer, hook_url: str, tmp_path: Path
) -> None:
    server.routes["/hooks/ops"] = hook = Hook(statuses=[500])
    options: dict[str, ChannelOptions] = {"ops": webhook_options(hook_url)}
    queue(web_store, NOW - timedelta(seconds=10), "ops", per_channel=2)
    deliver(web_store, tmp_path, options)
    assert len(hook.received) == 2  # the real worker sent both, the receiver refused them

    c = client(live(options))
    html = c.get("/").text
    row = row_of(html, "ops")
    assert 'class="channel status-failing"' in row
    assert "webhook answered HTTP 500" in row
    assert 'href="/alerts?channel=ops&amp;status=pending">2</a>' in row
    assert f"http://127.0.0.1:{server.base_url.rsplit(':', 1)[1]}" in row  # where it sends
    [ops] = c.get("/api/channels").json()
    assert ops["status"] == "failing" and ops["pending"] == 2 and ops["dead"] == 0
    assert ops["last_result"] == "failed" and ops["last_delivered"] is None
    assert ops["last_error"] == "webhook answered HTTP 500"

    health = c.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {
        "status": "degraded",
        "sources": 0,
        "rules": 1,
        "channels": [{"name": "ops", "status": "failing"}],
    }
    for response in (c.get("/"), c.get("/api/channels"), health, c.get("/alerts")):
        assert SECRET not in response.text and "/hooks/ops" not in response.text


def test_a_hung_webhook_shows_failing_once_its_send_times_out(
    client: Client,
    web_store: Store,
    server: FixtureServer,
    hook_url: str,
    gate: threading.Event,
    tmp_path: Path,
) -> None:
    server.routes["/hooks/ops"] = Hook(gate=gate)  # takes the request, never answers
    options: dict[str, ChannelOptions] = {"ops": webhook_options(hook_url)}
    queue(web_store, NOW - timedelta(seconds=10), "ops", per_channel=3)
    deliver(web_store, tmp_path, options, delivery_timeout=0.3)

    [ops] = client(live(options)).get("/api/channels").json()
    assert ops["status"] == "failing"
    assert ops["pending"] == 3  # one timed out, the others were deferred: none lost
    assert ops["last_error"] == "sending via 'ops' timed out after 0.3 s"


def test_an_alert_waiting_too_long_shows_backlog(client: Client, web_store: Store) -> None:
    """Nothing recorded (a send still hanging, or no worker for the channel), but the oldest
    alert waits longer than two send timeouts and a delivery interval."""
    options: dict[str, ChannelOptions] = {
        "ops": webhook_options("https://hooks.example.org/ops"),
        "fresh": webhook_options("https://hooks.example.org/fresh"),
        "daily": email_options(digest="1d"),
    }
    c = client(live(options))
    timeout = c.app.state.settings.delivery_timeout  # type: ignore[attr-defined]
    queue(web_store, NOW - timedelta(seconds=2 * timeout + DELIVERY_EVERY + 1), "ops")
    queue(web_store, NOW - timedelta(seconds=10), "fresh")
    queue(web_store, NOW - timedelta(hours=20), "daily")  # a digest gathers for a day
    channels = {ch["name"]: ch for ch in c.get("/api/channels").json()}
    assert {k: ch["status"] for k, ch in channels.items()} == {
        "ops": "backlog",
        "fresh": "idle",
        "daily": "idle",
    }
    assert channels["ops"]["oldest_pending_age"] == 2 * timeout + DELIVERY_EVERY + 1
    row = row_of(c.get("/").text, "ops")
    assert 'class="channel status-backlog"' in row and ">2 min <" in row
    assert c.get("/healthz").json()["channels"] == [{"name": "ops", "status": "backlog"}]


def test_a_delivered_channel_shows_ok_and_health_stays_ok(
    client: Client, web_store: Store, server: FixtureServer, hook_url: str, tmp_path: Path
) -> None:
    server.routes["/hooks/ops"] = Hook(statuses=[200])
    options: dict[str, ChannelOptions] = {
        "ops": webhook_options(hook_url),
        "unused": email_options(),
    }
    queue(web_store, NOW - timedelta(seconds=10), "ops")
    deliver(web_store, tmp_path, options)

    c = client(live(options))
    channels = {ch["name"]: ch for ch in c.get("/api/channels").json()}
    assert list(channels) == ["ops", "unused"]  # config order
    assert channels["ops"]["status"] == "ok"
    assert channels["ops"]["pending"] == 0
    assert channels["ops"]["last_delivered"] == "2026-12-01T11:59:55Z"
    assert channels["ops"]["last_error"] is None
    assert channels["unused"]["status"] == "idle"
    assert channels["unused"]["target"] == "analysts@example.org"
    assert 'class="channel status-ok"' in row_of(c.get("/").text, "ops")
    assert c.get("/healthz").json() == {"status": "ok", "sources": 0, "rules": 1}


def test_a_channel_recovers_once_a_send_works(
    client: Client, web_store: Store, server: FixtureServer, hook_url: str, tmp_path: Path
) -> None:
    server.routes["/hooks/ops"] = Hook(statuses=[500, 200])
    options: dict[str, ChannelOptions] = {"ops": webhook_options(hook_url)}
    queue(web_store, NOW - timedelta(seconds=10), "ops")
    deliver(web_store, tmp_path, options)
    with web_store.engine.begin() as conn:  # the retry is due (the backoff has passed)
        conn.execute(update(outbox).values(next_attempt_at=NOW - timedelta(seconds=6)))
    deliver(web_store, tmp_path, options)
    [ops] = client(live(options)).get("/api/channels").json()
    assert (ops["status"], ops["pending"], ops["last_result"]) == ("ok", 0, "delivered")


def attempts(store: Store, channel: str, *results: str, error: str = "refused") -> None:
    """Record attempts, oldest first, one per alert of the channel in turn; each alert is
    left as its last attempt left it (dead, delivered, or pending after a failure)."""
    with store.engine.begin() as conn:
        ids = list(
            conn.execute(
                select(outbox.c.id).where(outbox.c.channel == channel).order_by(outbox.c.id)
            ).scalars()
        )
        for i, result in enumerate(results):
            alert_id, status = ids[i % len(ids)], {"failed": "pending"}.get(result, result)
            write_attempts(conn, [alert_id], NOW - timedelta(minutes=9 - i), status, error)
            conn.execute(update(outbox).where(outbox.c.id == alert_id).values(status=status))


def test_three_dead_alerts_in_a_row_are_failing_even_with_none_waiting(
    client: Client, web_store: Store
) -> None:
    queue(web_store, NOW - timedelta(minutes=10), "gone", "flaky", per_channel=3)
    attempts(web_store, "gone", "dead", "dead", "dead", error="webhook answered HTTP 404")
    attempts(web_store, "flaky", "dead", "delivered", "delivered")
    channels = {ch["name"]: ch for ch in client().get("/api/channels").json()}
    assert channels["gone"]["status"] == "failing"
    assert (channels["gone"]["pending"], channels["gone"]["dead"]) == (0, 3)
    assert (channels["flaky"]["status"], channels["flaky"]["dead"]) == ("ok", 1)
    html = client().get("/").text
    assert 'href="/alerts?channel=gone&amp;status=dead">3</a>' in row_of(html, "gone")
    assert "3+ failed in a row" in row_of(html, "gone")


def test_monitor_web_lists_the_outboxs_channels(client: Client, web_store: Store) -> None:
    """Without the service's config every channel with alerts is shown, none 'not
    configured'; with it, a channel it does not define is marked so and not in /healthz."""
    queue(web_store, NOW - timedelta(days=1), "old-hook")
    html = client().get("/").text
    assert "(not configured)" not in row_of(html, "old-hook")
    assert client().get("/healthz").json()["channels"] == [
        {"name": "old-hook", "status": "backlog"}
    ]
    c = client(live({"ops": webhook_options("https://hooks.example.org/x")}))
    assert [ch["name"] for ch in c.get("/api/channels").json()] == ["ops", "old-hook"]
    assert "(not configured)" in row_of(c.get("/").text, "old-hook")
    assert "channels" not in c.get("/healthz").json()


def test_hostile_error_text_is_escaped_and_urls_lose_their_secrets(
    client: Client, web_store: Store
) -> None:
    hook = f"https://hooks.example.org/services/T0/B0/XYZ123?token={SECRET}"
    options: dict[str, ChannelOptions] = {"ops": webhook_options(hook)}
    queue(web_store, NOW - timedelta(seconds=30), "ops")
    error = (
        f"{HOSTILE}\r\nX-Injected: 1 internal error: ConnectError: {hook} and "
        f"https://user:pa55word@other.example:8443/p?q={SECRET}#frag; bare path "
        "/services/T0/B0/XYZ123"
    )
    attempts(web_store, "ops", "failed", error=error)
    c = client(live(options))
    html = c.get("/").text
    row = row_of(html, "ops")
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt;" in row
    expected = (
        f"{HOSTILE} X-Injected: 1 internal error: ConnectError: https://hooks.example.org and "
        "https://other.example:8443; bare path …"
    )
    [ops] = c.get("/api/channels").json()
    assert ops["last_error"] == expected
    assert ops["target"] == "https://hooks.example.org"
    alerts = c.get("/alerts?channel=ops").text  # every attempt's error, redacted alike
    assert "ConnectError: https://hooks.example.org and https://other.example:8443" in alerts
    pages = ("/api/channels", "/healthz", "/alerts", "/api/alerts?channel=ops")
    for text in [html, *(c.get(p).text for p in pages)]:
        for secret in (SECRET, "XYZ123", "pa55word", "services/T0", "frag"):
            assert secret not in text


def test_redact_cuts_every_url_to_its_origin_and_caps_the_length() -> None:
    assert redact("at http://[::1]:8080/a?b=c") == "at http://[::1]:8080"
    assert redact("bad https://[nope/x") == "bad …"
    assert redact("x" * 2000).endswith("…") and len(redact("x" * 2000)) == 500


def test_the_backlog_threshold_follows_the_services_delivery_interval() -> None:
    assert DELIVERY_EVERY == service.DELIVERY_EVERY


def test_alerts_delivered_before_attempts_were_recorded_still_count(
    client: Client, web_store: Store
) -> None:
    """A database older than the attempts table: the outbox's delivery time is used."""
    queue(web_store, NOW - timedelta(days=3), "ops")
    delivered = NOW - timedelta(days=2)
    with web_store.engine.begin() as conn:
        conn.execute(update(outbox).values(status="delivered", delivered_at=delivered))
    [ops] = client().get("/api/channels").json()
    assert (ops["status"], ops["last_delivered"]) == ("ok", "2026-11-29T12:00:00Z")
