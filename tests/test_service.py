"""`monitor run` as ops run it: a real process, a loopback feed and webhook receiver."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest

from monitor.fixture_server import FixtureServer, Route
from monitor.service import Service
from tests.alerts.conftest import Hook, free_port
from tests.conftest import FIXTURES, ROOT, fast_settings
from tests.test_config import ALIAS_BOMB


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def monitor_run(floor: int | None = None) -> list[str]:
    """The `monitor run` command line; `floor` lowers the floor of a source's `every` (10 s)
    in that process, so that a test of several polls of a loopback server takes seconds."""
    if floor is None:
        return [sys.executable, "-m", "monitor", "run"]
    lowered = f"import monitor.sources.base as base\nbase.MIN_INTERVAL_SECONDS = {floor}\n"
    return [sys.executable, "-c", f"{lowered}from monitor.cli import main\nmain()", "run"]


def metric(port: int, line_start: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.mark.slow
def test_service_polls_alerts_reloads_and_stops_cleanly(
    server: FixtureServer, tmp_path: Path
) -> None:
    hook = Hook()
    server.routes["/hook"] = hook
    server.routes["/state"] = Route(
        body=(FIXTURES / "state/press-releases.rss").read_bytes(),
        content_type="application/rss+xml",
    )
    yonhap = (FIXTURES / "news/yonhap-nk.rss").read_bytes()
    server.routes["/yonhap"] = Route(body=yonhap, content_type="application/rss+xml")
    config = tmp_path / "config"
    config.mkdir()
    # alert_max_age: the recorded releases are from 2018, and this test is about their alerts
    # (a new source's first poll alerts only on items published within it).
    sources = (
        f"sources:\n  - {{id: state, type: rss, url: '{server.url('/state')}', every: 10m, "
        "alert_max_age: 36500d}\n"
    )
    (config / "sources.yaml").write_text(sources)
    rules = "rules:\n  - {id: biegun, name: Biegun, query: biegun, notify: [hook]}\n"
    (config / "rules.yaml").write_text(rules)
    (config / "channels.yaml").write_text(
        f"channels:\n  hook: {{type: webhook, url: '{server.url('/hook')}'}}\n"
    )
    port = free_port()
    env = {
        **os.environ,
        "MONITOR_CONFIG_DIR": str(config),
        "MONITOR_HTTP_PORT": str(port),
        "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path}/monitor.db",
        "MONITOR_HOST_DELAY": "0",
    }
    log = (tmp_path / "service.log").open("w+")
    process = subprocess.Popen(
        monitor_run(floor=1),  # yonhap, added later, is polled every second
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:

        def healthy() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, 20, "/healthz to answer 200")
        health = httpx.get(f"http://127.0.0.1:{port}/healthz").json()
        assert health == {"status": "ok", "sources": 1, "rules": 1}
        wait_for(lambda: len(hook.received) == 2, 25, "the two Biegun alerts")
        titles = sorted(json.loads(b)["document"]["title"] for _, b in hook.received)
        assert titles == ["Remarks to the Press", "U.S.-ROK Working Group"]
        assert metric(port, 'monitor_polls_total{source="state",status="ok"}') == 1.0
        assert metric(port, 'monitor_matches_total{rule="biegun"}') == 2.0

        # A rule and a source added while running: the new source's first poll alerts (on
        # its 2018 items only because its alert_max_age reaches back that far).
        (config / "rules.yaml").write_text(
            rules + "  - {id: sanctions, name: Sanctions, query: 'new sanctions', notify: [hook]}\n"
        )
        (config / "sources.yaml").write_text(
            sources + f"  - {{id: yonhap, type: rss, url: '{server.url('/yonhap')}', every: 1s, "
            "alert_max_age: 36500d}\n"
        )
        wait_for(
            lambda: any(b"N. Korea slams U.S. for new sanctions" in b for _, b in hook.received),
            15,
            "the new rule's alert",
        )
        assert metric(port, 'monitor_config_reloads_total{result="ok"}') >= 1.0

        # A broken edit is rejected; the last good rules keep working.
        before = len(hook.received)
        (config / "rules.yaml").write_text("rules:\n  - {id: bad, name: Bad, query: '(biegun'}\n")
        wait_for(
            lambda: metric(port, 'monitor_config_reloads_total{result="error"}') == 1.0,
            15,
            "the rejected reload in /metrics",
        )
        server.routes["/yonhap"] = Route(
            body=yonhap.replace(
                b"<item>",
                b"<item><title>Biegun returns to Seoul</title>"
                b"<link>https://en.yna.co.kr/view/biegun-returns</link>"
                b"<description>Envoy Biegun is back.</description></item><item>",
                1,
            ),
            content_type="application/rss+xml",
        )
        wait_for(
            lambda: any(b"Biegun returns to Seoul" in b for _, b in hook.received[before:]),
            25,
            "an alert from the old rules after the broken edit",
        )
        log.flush()
        log.seek(0)
        output = log.read()
        assert "config change rejected" in output and "rules.yaml:2: rule 'bad'" in output

        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=25) == 0
        assert time.monotonic() - started < 22
    finally:
        if process.poll() is None:
            process.kill()
        log.close()


class SilentSmtp:
    """A mail server on loopback that accepts connections and never says a word."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self._listener.settimeout(0.2)
        self.port = int(self._listener.getsockname()[1])
        self.connections: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.connections.append(connection)  # held open, never answered

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for connection in self.connections:
            connection.close()
        self._listener.close()


class GrowingFeed:
    """An RSS feed of `first` Biegun releases, and one more at every later request."""

    def __init__(self, first: int) -> None:
        self.first = first
        self.requests = 0
        self._lock = threading.Lock()
        # Published now: the first poll alerts on all of them (a new source's first poll
        # alerts only on what is recent), so that many sends hang at once.
        self.published = format_datetime(datetime.now(UTC))

    def __call__(self, req: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.requests += 1
            count = self.first + self.requests - 1
        items = "".join(
            f"<item><title>Biegun briefing {i}</title><link>https://e.org/b/{i}</link>"
            f"<guid>https://e.org/b/{i}</guid><pubDate>{self.published}</pubDate>"
            f"<description>Envoy Biegun spoke ({i}).</description>"
            "</item>"
            for i in range(count)
        )
        body = (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Desk</title>'
            f"<link>https://e.org/</link><description>Desk</description>{items}</channel></rss>"
        ).encode()
        req.send_response(200)
        req.send_header("Content-Type", "application/rss+xml")
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        req.wfile.write(body)


@contextmanager
def running_service(
    tmp_path: Path, config: Path, *, floor: int | None = None, **env: str
) -> Iterator[int]:
    """`monitor run` (see `monitor_run`) as a subprocess; yields its HTTP port once /healthz
    answers."""
    command = monitor_run(floor)
    port = free_port()
    full_env = {
        **os.environ,
        "MONITOR_CONFIG_DIR": str(config),
        "MONITOR_HTTP_PORT": str(port),
        "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path}/monitor.db",
        "MONITOR_HOST_DELAY": "0",
        **env,
    }
    with (tmp_path / "service.log").open("w+") as log:
        process = subprocess.Popen(
            command,
            env=full_env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:

            def healthy() -> bool:
                try:
                    status = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code
                except httpx.HTTPError:
                    return False
                return status == 200

            wait_for(healthy, 20, "/healthz to answer 200")
            yield port
        finally:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_a_hung_mail_server_does_not_hold_up_polling(server: FixtureServer, tmp_path: Path) -> None:
    smtp = SilentSmtp()
    # Enough alerts at once that their hung sends fill every worker thread the event loop
    # has by default; the feed is reached by name, so resolving it needs one too.
    feed = GrowingFeed(first=12)
    feed_url = server.url("/feed").replace("127.0.0.1", "localhost")
    server.routes["/feed"] = feed
    config = tmp_path / "config"
    config.mkdir()
    # Polled every second (the floor lowered from 10 s for this loopback feed): five polls
    # take seconds, and every send stays hung for all of them.
    (config / "sources.yaml").write_text(
        f"sources:\n  - {{id: desk, type: rss, url: '{feed_url}', every: 1s}}\n"
    )
    (config / "rules.yaml").write_text(
        "rules:\n  - {id: biegun, name: Biegun, query: biegun, notify: [desk-email]}\n"
    )
    (config / "channels.yaml").write_text(
        "channels:\n  desk-email: {type: email, to: [desk@example.org]}\n"
    )
    try:
        with running_service(
            tmp_path,
            config,
            floor=1,
            MONITOR_SMTP_HOST="127.0.0.1",
            MONITOR_SMTP_PORT=str(smtp.port),
        ) as port:
            # Every poll finds a new matching release, whose email then hangs (the
            # server's silence outlasts the 30 s SMTP timeout, and the whole test). Polls
            # every second must go on regardless: a poll that waited for delivery, or for a
            # worker thread held by a hung send to look the feed's name up, came 30 s or more
            # after the one before.
            polls = 'monitor_polls_total{source="desk",status="ok"}'
            wait_for(lambda: metric(port, polls) >= 5, 30, "five polls")
            new = metric(port, 'monitor_documents_total{change="new",source="desk"}')
            assert new >= 12 + 4
            assert smtp.connections, "the email channel never reached the mail server"
        lines = (tmp_path / "service.log").read_text().splitlines()
        starts = [
            datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
            for line in lines
            if "source desk: ok" in line
        ]
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(starts)]
        assert len(starts) >= 5 and max(gaps) < 5, gaps  # every 1 s, far below the 30 s hang
    finally:
        smtp.close()


def _write_config(config: Path, sources: list[str], rules: list[str], channels: list[str]) -> None:
    config.mkdir(exist_ok=True)
    (config / "sources.yaml").write_text(
        "sources:\n"
        + "".join(f"  - {{id: {s}, type: rss, url: 'https://e.org/{s}'}}\n" for s in sources)
    )
    (config / "rules.yaml").write_text(
        "rules:\n"
        + "".join(
            f"  - {{id: {r}, name: {r}, query: {r}, notify: [{channels[-1]}]}}\n" for r in rules
        )
    )
    (config / "channels.yaml").write_text(
        "channels:\n"
        + "".join(f"  {c}: {{type: webhook, url: 'https://e.org/{c}'}}\n" for c in channels)
    )


def _in_force(service: Service) -> tuple[list[str], list[str], list[str]]:
    return (
        [s.id for s in service.config.sources.sources],
        [r.id for r in service.rules.rules],
        sorted(service.channels),
    )


def test_reload_is_all_or_nothing_and_retried_after_a_database_error(tmp_path: Path) -> None:
    config = tmp_path / "config"
    _write_config(config, ["old-feed"], ["biegun"], ["old-hook"])
    service = Service(fast_settings(tmp_path, config_dir=config))
    try:
        _write_config(config, ["old-feed", "new-feed"], ["biegun", "pompeo"], ["new-hook"])
        # The database fails while the new config is put together (the word statistics
        # for the new rules read stored documents).
        database = sqlite3.connect(tmp_path / "monitor.db")
        database.execute("ALTER TABLE document_versions RENAME TO document_versions_away")
        asyncio.run(service.reload())
        assert _in_force(service) == (["old-feed"], ["biegun"], ["old-hook"])

        database.execute("ALTER TABLE document_versions_away RENAME TO document_versions")
        database.close()
        asyncio.run(service.reload())  # the files have not changed since: retried anyway
        assert _in_force(service) == (
            ["old-feed", "new-feed"],
            ["biegun", "pompeo"],
            ["new-hook"],
        )
        reloads = service.metrics.reloads
        assert reloads.labels("error")._value.get() == 1
        assert reloads.labels("ok")._value.get() == 1
    finally:
        service.store.close()


def test_reload_of_an_alias_bomb_keeps_the_last_good_config(tmp_path: Path) -> None:
    config = tmp_path / "config"
    _write_config(config, ["feed"], ["biegun"], ["hook"])
    service = Service(fast_settings(tmp_path, config_dir=config))
    try:
        (config / "rules.yaml").write_text(ALIAS_BOMB)
        started = time.monotonic()
        asyncio.run(service.reload())
        assert time.monotonic() - started < 10  # refused at once, not expanded
        assert _in_force(service) == (["feed"], ["biegun"], ["hook"])
        assert service.metrics.reloads.labels("error")._value.get() == 1
    finally:
        service.store.close()
