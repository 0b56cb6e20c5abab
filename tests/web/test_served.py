"""`monitor run` and `monitor web` serve the pages on a loopback port (real processes)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from monitor.errors import MonitorError
from monitor.fixture_server import FixtureServer, Route
from monitor.store import Store
from monitor.web.serve import bind
from tests.alerts.conftest import free_port
from tests.conftest import FIXTURES, ROOT
from tests.test_cli_ops import copy_config, monitor, one_line
from tests.test_service import running_service, wait_for
from tests.web.conftest import NOW, TOKEN


def write_config(config: Path, server: FixtureServer, every: str = "10m") -> None:
    config.mkdir()
    (config / "sources.yaml").write_text(
        "sources:\n"
        f"  - {{id: state, type: rss, url: '{server.url('/state')}', every: {every}}}\n"
        f"  - {{id: down, type: rss, url: '{server.url('/down')}', every: {every}}}\n"
    )
    (config / "rules.yaml").write_text(
        "rules:\n  - {id: biegun, name: Biegun, query: biegun, notify: [hook]}\n"
    )
    (config / "channels.yaml").write_text(
        f"channels:\n  hook: {{type: webhook, url: '{server.url('/hook')}'}}\n"
    )


def env(tmp_path: Path, config: Path, port: int, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "MONITOR_CONFIG_DIR": str(config),
        "MONITOR_HTTP_PORT": str(port),
        "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path}/monitor.db",
        **extra,
    }


def test_monitor_run_serves_pages_health_and_metrics(server: FixtureServer, tmp_path: Path) -> None:
    server.routes["/state"] = Route(
        body=(FIXTURES / "state/press-releases.rss").read_bytes(),
        content_type="application/rss+xml",
    )
    server.routes["/down"] = Route(status=500, body=b"broken")
    config = tmp_path / "config"
    # Polled every 2 s (the floor lowered in this `monitor run`): the first polls start at
    # once, not up to 10 s after the start.
    write_config(config, server, every="2s")
    with running_service(tmp_path, config, floor=2) as port:
        base = f"http://127.0.0.1:{port}"

        def both_polled() -> bool:
            found = {s["id"]: s["status"] for s in httpx.get(f"{base}/api/sources").json()}
            return found == {"state": "ok", "down": "failing"}

        wait_for(both_polled, 30, "a poll of each source")
        overview = httpx.get(f"{base}/")
        assert overview.status_code == 200
        assert '<tr id="source-down" class="source status-failing"' in overview.text
        assert 'id="no-scheduler"' not in overview.text
        next_poll = httpx.get(f"{base}/api/sources").json()[0]["next_poll"]
        assert next_poll and next_poll.startswith("20")  # planned by the scheduler
        health = httpx.get(f"{base}/healthz")
        assert health.status_code == 200
        assert health.json() == {
            "status": "degraded",
            "sources": 2,
            "rules": 1,
            "failing": ["down"],
        }
        assert "monitor_polls_total" in httpx.get(f"{base}/metrics").text
        down = httpx.get(f"{base}/api/sources/down").json()
        assert down["polls"][0]["http_status"] == 500


@contextmanager
def process(
    args: list[str], environ: dict[str, str], tmp_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with (tmp_path / "out.log").open("w+") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", *args],
            env=environ,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_monitor_run_refuses_to_listen_beyond_loopback_without_a_token(
    server: FixtureServer, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    write_config(config, server)
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "run"],
        env=env(tmp_path, config, free_port(), MONITOR_HTTP_HOST="0.0.0.0"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "MONITOR_HTTP_HOST is 0.0.0.0" in result.stderr
    assert "set MONITOR_WEB_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_refuses_what_run_refuses_and_a_token_makes_it_fine(tmp_path: Path) -> None:
    config = copy_config(tmp_path)
    environ = {
        "MONITOR_HTTP_HOST": "0.0.0.0",
        "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path}/m.db",
        "MONITOR_HTTP_PORT": str(free_port()),
        "OPS_WEBHOOK_URL": "https://hooks.example.org/ops",
        "POLICY_EMAIL_TO": "desk@example.org",
    }
    checked = monitor("--config-dir", str(config), "check", env=environ)
    assert checked.returncode == 1
    assert one_line(checked).startswith("MONITOR_HTTP_HOST is 0.0.0.0, which other machines")
    short = monitor("--config-dir", str(config), "check", env={**environ, "MONITOR_WEB_TOKEN": "x"})
    assert short.returncode == 1 and "MONITOR_WEB_TOKEN: too short" in one_line(short)
    fine = monitor(
        "--config-dir", str(config), "check", env={**environ, "MONITOR_WEB_TOKEN": TOKEN}
    )
    assert fine.returncode == 0, fine.stderr
    assert TOKEN not in fine.stdout + fine.stderr


def test_monitor_web_serves_the_pages_alone(server: FixtureServer, tmp_path: Path) -> None:
    config = tmp_path / "config"
    write_config(config, server)
    store = Store.open(f"sqlite:///{tmp_path}/monitor.db")
    store.record_poll("state", [], now=NOW, item_count=2)
    store.close()
    port = free_port()
    with process(["web"], env(tmp_path, config, port), tmp_path) as proc:
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, 20, "monitor web to answer")
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok", "sources": 2, "rules": 1}
        page = httpx.get(f"{base}/").text
        assert 'id="no-scheduler"' in page
        assert 'class="source status-never-polled"' in page  # `down`: nothing polls it here
        assert httpx.get(f"{base}/metrics").status_code == 404  # README: `monitor run` only
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0


def test_a_port_in_use_is_a_clear_error(server: FixtureServer, tmp_path: Path) -> None:
    config = tmp_path / "config"
    write_config(config, server)
    Store.open(f"sqlite:///{tmp_path}/monitor.db").close()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "monitor", "web"],
            env=env(tmp_path, config, port),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"MONITOR_HTTP_PORT: port {port} on 127.0.0.1 is already in use" in result.stderr


def test_monitor_web_refuses_a_sqlite_file_that_does_not_exist(
    server: FixtureServer, tmp_path: Path
) -> None:
    # A typo in the path must not quietly create, migrate and show an empty database.
    config = tmp_path / "config"
    write_config(config, server)
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "web"],
        env=env(tmp_path, config, free_port(), MONITOR_DATABASE_URL="sqlite:///nowhere/m.db"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"Error: no database at {tmp_path}/nowhere/m.db (MONITOR_DATABASE_URL): `monitor web` "
        "shows an existing one; check the path, or run `monitor run` or `monitor once` first."
    ]
    assert not (tmp_path / "nowhere").exists()


def test_an_address_not_of_this_machine_is_a_clear_error() -> None:
    with pytest.raises(MonitorError) as err:
        bind("192.0.2.1", free_port())  # TEST-NET-1: never a local address
    message = str(err.value)
    assert message.startswith("MONITOR_HTTP_HOST/MONITOR_HTTP_PORT: cannot listen on 192.0.2.1:")
    assert "Traceback" not in message
