"""`monitor run` as ops run it: a real process, a loopback feed and webhook receiver."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from monitor.fixture_server import FixtureServer, Route
from tests.alerts.conftest import Hook, free_port
from tests.conftest import FIXTURES, ROOT


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def metric(port: int, line_start: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


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
    sources = f"sources:\n  - {{id: state, type: rss, url: '{server.url('/state')}', every: 10m}}\n"
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
        [sys.executable, "-m", "monitor", "run"],
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

        # A rule and a source added while running: the new source's first poll alerts.
        (config / "rules.yaml").write_text(
            rules + "  - {id: sanctions, name: Sanctions, query: 'new sanctions', notify: [hook]}\n"
        )
        (config / "sources.yaml").write_text(
            sources + f"  - {{id: yonhap, type: rss, url: '{server.url('/yonhap')}', every: 10s}}\n"
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
