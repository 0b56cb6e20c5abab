"""Day one for ops: each mistake gets one line and a nonzero exit, `check` refuses what `run`
would, shutdown and logs stay quiet, `.env` feeds channels.yaml, the shipped channels queue
nothing until their addresses are set, and `monitor once` drains a backlog.

Commands run through the entry function in this process (tests/inprocess.py); `monitor run`,
a missing driver and alembic's start-up logs in a real `python -m monitor` subprocess; or
through click's CliRunner where the test needs to look inside (a patched time budget).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from monitor.alerts.base import Dead, Retry, Sent
from monitor.cli import main
from monitor.errors import TransientFetchError
from monitor.fetch import Fetcher
from monitor.fixture_server import FixtureServer, Route
from monitor.models import PollResult
from monitor.service import Service
from monitor.settings import Settings
from monitor.store import SourceState, Store
from tests.alerts.conftest import Hook, free_port, queue
from tests.conftest import CONFIG, FIXTURES, ROOT, fast_settings
from tests.inprocess import run_monitor
from tests.test_service import monitor_run, wait_for

DEEP_NOT = "NOT " * 5000 + "biegun"


def monitor(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
    pre: str = "",
    process: bool = False,
) -> subprocess.CompletedProcess[str]:
    """`monitor ARGS`, in a subprocess if `process` or `pre` (Python run first, e.g. to hide
    a package)."""
    if not (process or pre):
        return run_monitor(*args, env={"MONITOR_LOG_LEVEL": "WARNING", **(env or {})}, cwd=cwd)
    command = [sys.executable, "-m", "monitor", *args]
    if pre:
        command = [sys.executable, "-c", f"{pre}\nfrom monitor.cli import main\nmain()", *args]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MONITOR_LOG_LEVEL": "WARNING", **(env or {})},
        cwd=cwd,
    )


def one_line(result: subprocess.CompletedProcess[str] | object) -> str:
    """The only line on stderr (asserting there is exactly one and no traceback)."""
    stderr = getattr(result, "stderr", "")
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def copy_config(tmp_path: Path, sources: str | None = None) -> Path:
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    for name in ("sources.yaml", "rules.yaml", "channels.yaml"):
        shutil.copy(CONFIG / name, config / name)
    # The labelled sets rules.yaml names, where its `labelled:` globs look (../fixtures/rules).
    labelled = tmp_path / "fixtures" / "rules"
    if not labelled.exists():
        labelled.parent.mkdir(exist_ok=True)
        labelled.symlink_to(CONFIG.parent / "fixtures" / "rules", target_is_directory=True)
    if sources is not None:
        (config / "sources.yaml").write_text(sources)
    return config


def loopback_sources(server: FixtureServer) -> str:
    """The State Department feed (it mentions Biegun) served on loopback."""
    server.routes["/state"] = Route(
        body=(FIXTURES / "state/press-releases.rss").read_bytes(),
        content_type="application/rss+xml",
    )
    return (
        "sources:\n  - {id: state-press-releases, type: rss, alert_max_age: 36500d, "
        f"url: '{server.url('/state')}'}}\n"
    )


@pytest.fixture
def no_channel_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A working directory without .env, and the channel variables unset."""
    for name in ("POLICY_EMAIL_TO", "OPS_WEBHOOK_URL", "HOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "cwd"
    home.mkdir()
    monkeypatch.chdir(home)
    return home


# -- 7. no tracebacks for an operator's mistake ------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("MONITOR_HTTP_PORT", "abc", "valid integer"),
        ("MONITOR_HTTP_PORT", "70000", "less than or equal to 65535"),
        ("MONITOR_LOG_FORMAT", "xml", "unknown log format 'xml' (use text or json)"),
        ("MONITOR_LOG_LEVEL", "loud", "unknown log level 'loud'"),
        ("MONITOR_TIMEZONE", "Mars/Base", "unknown time zone 'Mars/Base'"),
        ("MONITOR_POLL_CONCURRENCY", "0", "greater than or equal to 1"),
        ("MONITOR_SMTP_STARTTLS", "maybe", "valid boolean"),
        ("MONITOR_FETCH_ATTEMPTS", "many", "valid integer"),
        ("MONITOR_DELIVERY_TIMEOUT", "0", "greater than 0"),
        ("MONITOR_DATABASE_URL", "monitor.db", "not a database URL"),
        ("MONITOR_DATABASE_URL", "postgres://u:pw@db/m", "write postgresql+psycopg://user:"),
        ("MONITOR_DATABASE_URL", "postgresql://u:pw@db/m", "write postgresql+psycopg://user:"),
        ("MONITOR_SHUTDOWN_GRACE", "-1", "greater than or equal to 0"),
    ],
)
@pytest.mark.parametrize("command", ["check", "run"])
def test_an_invalid_setting_is_one_line_naming_it(
    command: str, variable: str, value: str, says: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        main, ["--config-dir", str(copy_config(tmp_path)), command], env={variable: value}
    )
    assert result.exit_code == 1
    line = one_line(result)
    assert line.startswith(f"{variable}: ") and says in line, line


def test_every_setting_with_a_wrong_value_is_named_in_one_line(tmp_path: Path) -> None:
    checked = {"timezone", "log_format", "log_level", "database_url"}  # strings with rules
    env = {
        f"MONITOR_{name.upper()}": "not-a-value!"
        for name, info in Settings.model_fields.items()
        if info.annotation in (int, float, bool) or name in checked
    }
    assert len(env) > 20
    config = str(copy_config(tmp_path))
    result = CliRunner().invoke(main, ["--config-dir", config, "check"], env=env)
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    named = [line.split(":", 1)[0] for line in result.stderr.splitlines()]
    assert sorted(named) == sorted(env), result.stderr  # one line each


def test_numbers_out_of_range_and_a_missing_ca_file_are_refused_at_start(
    tmp_path: Path,
) -> None:
    # Each of these was accepted: 0 concurrency hung every poll with no word, a negative
    # cap failed every poll, a missing CA file failed every alert email until it died.
    env = {
        "MONITOR_HOST_CONCURRENCY": "0",
        "MONITOR_MAX_CONNECTIONS": "0",
        "MONITOR_FETCH_MAX_BYTES": "-1",
        "MONITOR_FETCH_ATTEMPTS": "-1",
        "MONITOR_SMTP_PORT": "99999",
        "MONITOR_RETENTION_DAYS": "-1",
        "MONITOR_SMTP_CA_FILE": str(tmp_path / "missing-ca.pem"),
    }
    config = str(copy_config(tmp_path))
    result = CliRunner().invoke(main, ["--config-dir", config, "check"], env=env)
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    named = [line.split(":", 1)[0] for line in result.stderr.splitlines()]
    assert sorted(named) == sorted(env), result.stderr
    assert f"MONITOR_SMTP_CA_FILE: no such file: {tmp_path / 'missing-ca.pem'}" in result.stderr


def test_http_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = monitor(
            "run",
            process=True,
            env={
                "MONITOR_CONFIG_DIR": str(copy_config(tmp_path)),
                "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path}/m.db",
                "MONITOR_HTTP_PORT": str(port),
                "POLICY_EMAIL_TO": "desk@agency.example",
                "OPS_WEBHOOK_URL": "https://hooks.agency.example/ops",
            },
        )
    assert result.returncode == 1
    assert f"MONITOR_HTTP_PORT: port {port} on 127.0.0.1 is already in use" in one_line(result)


@pytest.mark.slow
def test_postgresql_without_the_driver_names_the_extra_to_install(tmp_path: Path) -> None:
    url = "postgresql+psycopg://monitor:secret@db.example.org/monitor"
    for command in ("check", "documents"):
        result = monitor(
            "--config-dir",
            str(copy_config(tmp_path)),
            command,
            env={"MONITOR_DATABASE_URL": url},
            pre="import sys; sys.modules['psycopg'] = None  # as without the postgres extra",
        )
        assert result.returncode == 1
        line = one_line(result)
        assert line.startswith("MONITOR_DATABASE_URL: the PostgreSQL driver is not installed")
        assert "pip install -e '.[postgres]'" in line and "secret" not in line


def test_a_database_folder_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a folder")
    url = f"sqlite:///{tmp_path}/afile/data/monitor.db"
    result = monitor("documents", env={"MONITOR_DATABASE_URL": url})
    assert result.returncode == 1
    line = one_line(result)
    assert "MONITOR_DATABASE_URL: cannot create the database folder" in line
    assert f"{tmp_path}/afile/data" in line


def test_a_query_nested_thousands_deep_is_refused_in_rules_test() -> None:
    result = monitor(
        "rules", "test", "--query", DEEP_NOT, env={"MONITOR_DATABASE_URL": "sqlite://"}
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr
    assert "the query is nested too deeply (more than 100 levels" in result.stderr.splitlines()[0]


def test_a_query_nested_thousands_deep_is_a_check_error_with_its_line(tmp_path: Path) -> None:
    config = copy_config(tmp_path)
    deep = "(" * 3000 + "biegun AND pompeo" + ")" * 3000
    nested = " AND ".join(["(biegun OR pompeo"] * 3000) + ")" * 3000
    (config / "rules.yaml").write_text(
        f"rules:\n  - {{id: deep, name: Deep, query: '{DEEP_NOT}'}}\n"
        f"  - {{id: parens, name: Parens, query: '{deep}'}}\n"
        f"  - {{id: nested, name: Nested, query: '{nested}'}}\n"
    )
    result = monitor("--config-dir", str(config), "check")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "rules.yaml" in line]
    assert errors == [
        f"{config}/rules.yaml:2: rule 'deep': query: the query is nested too deeply (more "
        "than 100 levels of parentheses, NOT or NEAR); write it flatter at column 1",
        f"{config}/rules.yaml:4: rule 'nested': query: the query is nested too deeply (more "
        "than 100 levels of parentheses, NOT or NEAR); write it flatter at column 1",
    ]  # redundant parentheses around one AND are fine


# -- 8. check and run agree ---------------------------------------------------------------------


@pytest.mark.slow
def test_check_refuses_an_ops_channel_that_run_refuses(tmp_path: Path) -> None:
    config = copy_config(tmp_path)
    env = {
        "MONITOR_OPS_CHANNEL": "nope",
        "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path}/m.db",
        "MONITOR_HTTP_PORT": str(free_port()),
        "OPS_WEBHOOK_URL": "https://hooks.example.org/ops",
        "POLICY_EMAIL_TO": "desk@example.org",
    }
    expected = (
        f"MONITOR_OPS_CHANNEL names 'nope', which {config}/channels.yaml does not define "
        "(channels: ops-webhook, policy-email)"
    )
    checked = monitor("--config-dir", str(config), "check", env=env)
    assert checked.returncode == 1 and one_line(checked) == expected
    ran = monitor("--config-dir", str(config), "run", env=env, process=True)
    assert ran.returncode == 1 and one_line(ran).endswith(expected)
    env["MONITOR_OPS_CHANNEL"] = "ops-webhook"
    assert monitor("--config-dir", str(config), "check", env=env).returncode == 0
    env["OPS_WEBHOOK_URL"] = ""  # the channel is off: its alerts would be lost
    off = monitor("--config-dir", str(config), "check", env=env)
    assert off.returncode == 1 and one_line(off) == (
        "MONITOR_OPS_CHANNEL names 'ops-webhook', which is off until OPS_WEBHOOK_URL is set "
        "(source-health alerts would be lost)"
    )


def test_a_reload_that_drops_the_ops_channel_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.yaml").write_text(
        "sources:\n  - {id: feed, type: rss, url: 'http://127.0.0.1:9/feed'}\n"
    )
    (config / "channels.yaml").write_text(
        "channels:\n  ops: {type: webhook, url: 'http://127.0.0.1:9/ops'}\n"
    )
    service = Service(fast_settings(tmp_path, config_dir=config, ops_channel="ops"))
    try:
        (config / "channels.yaml").write_text(
            "channels:\n  ops-renamed: {type: webhook, url: 'http://127.0.0.1:9/ops'}\n"
        )
        with caplog.at_level(logging.ERROR, logger="monitor.service"):
            asyncio.run(service.reload())
        assert sorted(service.channels) == ["ops"]  # the last good config stays in force
        assert "config change rejected" in caplog.text
        assert "MONITOR_OPS_CHANNEL names 'ops'" in caplog.text
        assert service.metrics.reloads.labels("error")._value.get() == 1
    finally:
        service.store.close()


# -- 9 and 10. shutdown and logs of `monitor run` ------------------------------------------------


class Stalled:
    """A feed that answers only when released: a poll stays in flight."""

    def __init__(self) -> None:
        self.asked = threading.Event()
        self.release = threading.Event()

    def __call__(self, req: BaseHTTPRequestHandler) -> None:
        self.asked.set()
        self.release.wait(timeout=30)
        req.send_response(200)
        req.send_header("Content-Length", "0")
        req.end_headers()


@pytest.fixture
def stalled(server: FixtureServer) -> Iterator[Stalled]:
    feed = Stalled()
    server.routes["/slow"] = feed
    yield feed
    feed.release.set()


def start(
    tmp_path: Path, config: Path, *, floor: int | None = None, **env: str
) -> tuple[subprocess.Popen[str], int]:
    """`monitor run` (`floor`: see tests.test_service.monitor_run); (process, HTTP port)."""
    port = free_port()
    with (tmp_path / "service.log").open("w") as log:  # the child keeps its own descriptor
        process = subprocess.Popen(
            monitor_run(floor),
            env={
                **os.environ,
                "MONITOR_CONFIG_DIR": str(config),
                "MONITOR_HTTP_PORT": str(port),
                "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path}/monitor.db",
                "MONITOR_HOST_DELAY": "0",
                **env,
            },
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=log,
            text=True,
        )
    return process, port


@pytest.mark.slow
def test_shutdown_with_a_poll_in_flight_logs_one_line(
    server: FixtureServer, stalled: Stalled, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    # Every second (the floor lowered in this `monitor run`): the first poll starts at once.
    (config / "sources.yaml").write_text(
        f"sources:\n  - {{id: slow-feed, type: rss, url: '{server.url('/slow')}', every: 1s}}\n"
    )
    process, _ = start(tmp_path, config, floor=1, MONITOR_SHUTDOWN_GRACE="0.5")
    try:
        assert stalled.asked.wait(30), "the poll never started"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    log = (tmp_path / "service.log").read_text()
    assert "Traceback" not in log and "CancelledError" not in log and " ERROR " not in log, log
    cancelled = [line for line in log.splitlines() if "cancelled" in line]
    assert len(cancelled) == 1, log
    assert cancelled[0].endswith(
        "source slow-feed: poll cancelled at shutdown (still running after the grace period); "
        "nothing of it was stored"
    )


@pytest.mark.slow
def test_json_logs_are_quiet_by_default_and_name_source_rule_and_channel(
    server: FixtureServer, tmp_path: Path
) -> None:
    hook = Hook(statuses=[500])
    server.routes["/hook"] = hook
    config = tmp_path / "config"
    config.mkdir()
    # Polled every 2 s (the floor lowered in this `monitor run`): the second poll comes soon.
    (config / "sources.yaml").write_text(loopback_sources(server).replace("'}", "', every: 2s}"))
    (config / "rules.yaml").write_text(
        "rules:\n  - {id: biegun, name: Biegun, query: biegun, notify: [desk-hook]}\n"
    )
    (config / "channels.yaml").write_text(
        f"channels:\n  desk-hook: {{type: webhook, url: '{server.url('/hook')}'}}\n"
    )
    process, port = start(tmp_path, config, floor=2, MONITOR_LOG_FORMAT="json")
    try:

        def polled_twice() -> bool:  # ok, then not modified (or ok again)
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            except httpx.HTTPError:
                return False
            prefix = 'monitor_polls_total{source="state-press-releases"'
            return (
                sum(
                    float(line.rsplit(" ", 1)[1])
                    for line in text.splitlines()
                    if line.startswith(prefix)
                )
                >= 2
            )

        wait_for(lambda: len(hook.received) >= 2, 30, "two failed webhook sends")
        wait_for(polled_twice, 40, "the second (unchanged) poll")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    lines = [json.loads(line) for line in (tmp_path / "service.log").read_text().splitlines()]
    messages = [line["message"] for line in lines]
    assert not [m for m in messages if "setup plugin" in m or "Context impl" in m], messages
    assert not [m for m in messages if "Retry(" in m or "Dead(" in m], messages
    polls = [line for line in lines if line["message"].startswith("source state-press-releases:")]
    assert len(polls) == 1, messages  # the unchanged second poll is at DEBUG
    assert polls[0]["source"] == "state-press-releases" and polls[0]["level"] == "info"
    failed = [line for line in lines if line["message"].startswith("alert ")]
    assert failed and all(line["channel"] == "desk-hook" for line in failed)
    assert all(line["rule"] == "biegun" for line in failed)
    # Two alerts go out at once; whichever the receiver answers first gets its 500.
    assert re.fullmatch(
        r"alert [12] via desk-hook: failed, will retry: webhook answered HTTP 500",
        failed[0]["message"],
    ), failed[0]["message"]


@pytest.mark.slow
def test_debug_level_shows_unchanged_polls_and_alembic(tmp_path: Path) -> None:
    result = monitor(
        "-v",
        "db",
        "upgrade",
        process=True,
        env={"MONITOR_DATABASE_URL": f"sqlite:///{tmp_path}/m.db"},
    )
    assert "Running upgrade" not in result.stderr  # MONITOR_LOG_LEVEL=WARNING (monitor())
    result = monitor(
        "-v",
        "db",
        "upgrade",
        process=True,  # alembic logs "setup plugin" once per process
        env={"MONITOR_DATABASE_URL": f"sqlite:///{tmp_path}/n.db", "MONITOR_LOG_LEVEL": "INFO"},
    )
    # README: Alembic's lines, a screenful of "Running upgrade" included, show at DEBUG only.
    assert "Running upgrade" not in result.stderr and "setup plugin" not in result.stderr
    assert "Database at revision" in result.stdout
    result = monitor(
        "-v",
        "db",
        "upgrade",
        process=True,  # alembic logs "setup plugin" once per process
        env={"MONITOR_DATABASE_URL": f"sqlite:///{tmp_path}/o.db", "MONITOR_LOG_LEVEL": "debug"},
    )
    assert "DEBUG alembic.runtime.plugins: setup plugin" in result.stderr
    assert "DEBUG alembic.runtime.migration: Running upgrade" in result.stderr


def test_recovered_is_info_and_failing_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = copy_config(tmp_path)
    (config / "channels.yaml").write_text("channels: {}\n")
    (config / "rules.yaml").write_text("rules: []\n")
    service = Service(fast_settings(tmp_path, config_dir=config))

    def state(failures: int) -> SourceState:
        return SourceState(source.id, None, None, "error", failures, "HTTP 500", 3)

    try:
        source = service.config.sources.sources[0]
        with caplog.at_level(logging.INFO, logger="monitor.service"):
            service._check_health(source, state(4), PollResult(source.id, "error", "HTTP 500"))
            service._check_health(source, state(5), PollResult(source.id, "ok", items=3))
        levels = {r.getMessage().split(": ")[0]: r.levelname for r in caplog.records}
        assert levels == {
            f"source {source.id} failing": "WARNING",
            f"source {source.id} recovered": "INFO",
        }
        assert all(getattr(r, "source", None) == source.id for r in caplog.records)
    finally:
        service.store.close()


def test_outcomes_read_as_words() -> None:
    assert str(Sent("HTTP 200")) == "sent (HTTP 200)"
    assert str(Retry("HTTP 500")) == "failed, will retry: HTTP 500"
    assert str(Dead("HTTP 404")) == "failed for good: HTTP 404"


def test_a_dns_failure_names_the_host(tmp_path: Path) -> None:
    def unresolvable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)

    async def fetch() -> None:
        settings = fast_settings(tmp_path, fetch_attempts=1)
        async with Fetcher(settings, transport=httpx.MockTransport(unresolvable)) as fetcher:
            await fetcher.fetch("https://www.stat.gov/rss-feed/")

    with pytest.raises(TransientFetchError) as info:
        asyncio.run(fetch())
    assert str(info.value) == (
        "connection failed: cannot resolve www.stat.gov: Name or service not known"
    )


# -- 11. .env feeds channels.yaml --------------------------------------------------------------


def test_dot_env_fills_channel_variables_and_the_webhook_secret(
    server: FixtureServer, no_channel_variables: Path, tmp_path: Path
) -> None:
    hook = Hook()
    server.routes["/hook"] = hook
    config = copy_config(tmp_path)
    (config / "channels.yaml").write_text(
        (CONFIG / "channels.yaml").read_text()
        + "  signed-hook:\n    type: webhook\n    url: '${OPS_WEBHOOK_URL}'\n"
        "    secret_env: HOOK_SECRET\n"
    )
    runner = CliRunner()
    missing = runner.invoke(main, ["--config-dir", str(config), "check"])
    assert missing.exit_code == 1
    assert "environment variable OPS_WEBHOOK_URL is not set" in missing.stderr
    (no_channel_variables / ".env").write_text(
        f"OPS_WEBHOOK_URL={server.url('/hook')}\nPOLICY_EMAIL_TO=desk@agency.example\n"
        "HOOK_SECRET=from-dot-env\n"
    )
    checked = runner.invoke(main, ["--config-dir", str(config), "check"])
    assert checked.exit_code == 0, checked.stderr
    assert "3 channels" in checked.stdout and checked.stderr == ""
    sent = runner.invoke(main, ["--config-dir", str(config), "channels", "test", "signed-hook"])
    assert sent.exit_code == 0, sent.output
    [(headers, _)] = hook.received
    assert headers["X-Monitor-Signature"].startswith("sha256=")


# -- 12. the shipped channels queue nothing until their addresses are set ---------------------


def test_a_fresh_once_skips_the_unset_shipped_channels_with_one_warning(
    server: FixtureServer, no_channel_variables: Path, tmp_path: Path
) -> None:
    config = copy_config(tmp_path, loopback_sources(server))
    env = {"MONITOR_DATABASE_URL": f"sqlite:///{tmp_path}/m.db", "MONITOR_HOST_DELAY": "0"}
    runner = CliRunner()
    result = runner.invoke(main, ["--config-dir", str(config), "once"], env=env)
    assert result.exit_code == 0, result.output
    warning = (
        "warning: channels off until their variables are set, in the environment or .env: "
        "ops-webhook (set OPS_WEBHOOK_URL), policy-email (set POLICY_EMAIL_TO); "
        "alerts for them are not queued"
    )
    assert result.stderr.splitlines() == [warning]
    assert "[biegun] Stephen Biegun mentioned" in result.stdout  # matches are still shown
    alerts = runner.invoke(main, ["alerts"], env=env)
    assert alerts.stdout.strip() == "No alerts yet."
    checked = runner.invoke(main, ["--config-dir", str(config), "check"], env=env)
    assert checked.exit_code == 0 and checked.stderr.splitlines() == [warning]


def test_the_demo_still_delivers_offline(no_channel_variables: Path) -> None:
    shutil.copy(ROOT / ".env.example", no_channel_variables / ".env")  # empty addresses
    result = monitor("--config-dir", str(CONFIG), "demo", cwd=no_channel_variables)
    assert result.returncode == 0, result.stderr
    assert "== Alerts delivered (" in result.stdout
    assert "Alerts delivered (0)" not in result.stdout
    written = list((no_channel_variables / "data" / "demo").iterdir())
    assert any(p.suffix == ".eml" for p in written) and any(p.suffix == ".json" for p in written)


# -- 14. `monitor once` drains a backlog ----------------------------------------------------------


def backlog(tmp_path: Path, server: FixtureServer, count: int) -> tuple[Path, dict[str, str], Hook]:
    hook = Hook()
    server.routes["/hook"] = hook
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.yaml").write_text("sources: []\n")
    (config / "channels.yaml").write_text(
        f"channels:\n  desk-hook: {{type: webhook, url: '{server.url('/hook')}'}}\n"
    )
    url = f"sqlite:///{tmp_path}/m.db"
    store = Store.open(url)
    queue(store, datetime.now(UTC), "desk-hook", per_channel=count)
    store.close()
    return config, {"MONITOR_DATABASE_URL": url}, hook


@pytest.mark.slow
def test_once_delivers_a_backlog_of_2000_in_one_run(server: FixtureServer, tmp_path: Path) -> None:
    config, env, hook = backlog(tmp_path, server, 2000)
    result = CliRunner().invoke(main, ["--config-dir", str(config), "once"], env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "Delivered 2000 alerts; none pending."
    assert len(hook.received) == 2000


def test_once_out_of_time_says_how_many_remain(
    server: FixtureServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import monitor.cli.alerts as alerts_cli

    monkeypatch.setattr(alerts_cli, "ONCE_DELIVERY_SECONDS", 0.0)  # one claim per run
    config, env, hook = backlog(tmp_path, server, 450)
    runner = CliRunner()
    first = runner.invoke(main, ["--config-dir", str(config), "once"], env=env)
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines()[-1] == (
        "Delivered 200 alerts in 0 s; 250 still pending: run `monitor once` again to send the rest."
    )
    runner.invoke(main, ["--config-dir", str(config), "once"], env=env)
    third = runner.invoke(main, ["--config-dir", str(config), "once"], env=env)
    assert third.stdout.splitlines()[-1] == "Delivered 50 alerts; none pending."
    assert len(hook.received) == 450


def test_a_dot_env_line_that_cannot_be_read_is_refused_naming_the_line(tmp_path: Path) -> None:
    # python-dotenv skipped such lines with an unnamed warning: the value silently vanished.
    (tmp_path / ".env").write_text(
        "POLICY_EMAIL_TO=desk@agency.example\n"
        "OPS_WEBHOOK_URL https://hooks.agency.example/ops\n"
        'MONITOR_TIMEZONE="America/New_York\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "--config-dir", str(CONFIG), "check"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        ".env:2: cannot read this line; write NAME=value "
        "(it starts: 'OPS_WEBHOOK_URL https://hooks.agency.exa')",  # the first 40 characters
        ".env:3: cannot read this line; write NAME=value "
        "(it starts: 'MONITOR_TIMEZONE=\"America/New_York')",
    ]
