"""The `monitor` command as a user runs it: real files, a real server; through its entry
function in this process (tests/inprocess.py), or as a real subprocess where marked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.fixture_server import FixtureServer, Route
from tests.conftest import FIXTURES, ROOT, SHIPPED_CHANNELS_ENV
from tests.inprocess import run_monitor


def monitor(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT, process: bool = False
) -> subprocess.CompletedProcess[str]:
    """`monitor ARGS`; in a new `python -m monitor` process if `process`."""
    if not process:
        return run_monitor(*args, env={**SHIPPED_CHANNELS_ENV, **(env or {})}, cwd=cwd)
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **SHIPPED_CHANNELS_ENV, **(env or {})},
        cwd=cwd,
    )


@pytest.mark.slow
def test_demo_runs_offline_and_shows_both_polls(tmp_path: Path) -> None:
    result = monitor("--config-dir", str(ROOT / "config"), "demo", cwd=tmp_path, process=True)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "U.S.-ROK Working Group" in out and "Media Note" in out
    assert "Pence: US and South Korea in Agreement on North Korea Diplomacy" in out
    assert "2018-11-20 21:06" in out
    assert out.count("not modified (304)") == 5
    assert "9 documents stored" in out
    assert "Traceback" not in result.stderr
    # Alerts went to files instead of SMTP / HTTP: one .eml or .json per alert.
    written = sorted(p.suffix for p in (tmp_path / "data/demo").iterdir())
    assert written.count(".eml") >= 5 and written.count(".json") >= 2
    assert "policy-email    delivered" in out
    sample = next((tmp_path / "data/demo").glob("*.eml")).read_text()
    assert "Subject: [monitor] " in sample and "Content-Type: text/html" in sample


def test_check_passes_on_shipped_config() -> None:
    result = monitor("check", process=True)
    assert result.returncode == 0 and result.stdout.startswith("OK: 5 sources")


def test_check_fails_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  - id: x\n    type: rss\n    url: https://e.org/\n    every: often\n"
    )
    result = monitor("--config-dir", str(tmp_path), "check")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"{tmp_path}/sources.yaml:5: source 'x': 'every': 'often' is not an interval; "
        "use 10s, 10m, 1h or 1d"
    )


def _config_for(server: FixtureServer, tmp_path: Path) -> dict[str, str]:
    server.routes["/feed"] = Route(
        body=(FIXTURES / "state/press-releases.rss").read_bytes(),
        content_type="application/rss+xml",
    )
    (tmp_path / "sources.yaml").write_text(
        "sources:\n"
        f"  - {{id: state, type: rss, url: '{server.url('/feed')}', kind_from_category: true}}\n"
        f"  - {{id: gone, type: rss, url: '{server.url('/gone')}'}}\n"
    )
    return {
        "MONITOR_CONFIG_DIR": str(tmp_path),
        "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path}/m.db",
        "MONITOR_HOST_DELAY": "0",
    }


@pytest.mark.slow
def test_once_then_documents_then_show(server: FixtureServer, tmp_path: Path) -> None:
    env = _config_for(server, tmp_path)
    dry = monitor("once", "--dry-run", env=env)
    assert dry.returncode == 1  # one source failed
    assert "U.S.-ROK Working Group" in dry.stdout and "dry run: nothing was stored" in dry.stdout
    assert "gone" in dry.stdout and "HTTP 404" in dry.stdout
    assert "No documents stored in" in monitor("documents", env=env).stdout

    once = monitor("once", "--source", "state", env=env)
    assert once.returncode == 0, once.stdout + once.stderr
    listing = monitor("documents", "--source", "state", env=env).stdout
    assert "U.S.-ROK Working Group" in listing and "Remarks to the Press" in listing
    row = next(line for line in listing.splitlines() if "U.S.-ROK" in line)
    shown = monitor("show", row.split()[0], env=env)
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert document["title"] == "U.S.-ROK Working Group"
    assert document["kind"] == "Media Note"
    assert document["published_at"] == "2018-11-20T21:06:00Z"
    assert document["sightings"] == ["state"]

    again = monitor("once", "--source", "state", env=env)
    assert "No new or updated documents." in again.stdout and "not modified" in again.stdout


def test_once_with_parse_workers_stores_what_the_poller_alone_stores(
    server: FixtureServer, tmp_path: Path
) -> None:
    # MONITOR_PARSE_WORKERS: feeds are parsed in worker processes; the result is the same.
    reports = []
    for workers in ("0", "2"):
        work = tmp_path / f"workers-{workers}"
        work.mkdir()
        env = {**_config_for(server, work), "MONITOR_PARSE_WORKERS": workers}
        once = monitor("once", "--source", "state", env=env)
        assert once.returncode == 0, once.stdout + once.stderr
        reports.append(once.stdout.split("\n\n")[0])  # source, change, kind, date, title
        shown = monitor("documents", "--source", "state", env=env).stdout
        assert shown.count("\n") == reports[-1].count("\n") + 1  # a header, then each one
    assert reports[0] == reports[1]
    assert "U.S.-ROK Working Group" in reports[1] and "Remarks to the Press" in reports[1]


def test_show_unknown_id_is_a_clear_error(tmp_path: Path) -> None:
    env = {"MONITOR_DATABASE_URL": f"sqlite:///{tmp_path}/m.db"}
    result = monitor("show", "abcdef123", env=env)
    assert result.returncode == 1
    assert result.stderr.strip() == ("No document with id 'abcdef123' (see `monitor documents`)")


def test_unknown_source_is_a_clear_error() -> None:
    result = monitor("once", "--source", "state-press", "--dry-run")
    assert result.returncode == 1
    assert result.stderr.startswith("No source with id 'state-press'")
    assert "Traceback" not in result.stderr


def test_check_fails_on_a_broken_rule_with_a_caret(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text((ROOT / "config/sources.yaml").read_text())
    (tmp_path / "rules.yaml").write_text(
        "rules:\n  - id: broken\n    name: Broken\n    query: 'biegun AND (pompeo OR'\n"
    )
    result = monitor("--config-dir", str(tmp_path), "check")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{tmp_path}/rules.yaml:4: rule 'broken': query: missing ')' at column 22",
        "    biegun AND (pompeo OR",
        "                         ^",
    ]


def test_rules_list_shows_routing() -> None:
    result = monitor("rules", "list")
    assert result.returncode == 0
    line = next(x for x in result.stdout.splitlines() if x.startswith("sanctions-change"))
    assert "policy-email, ops-webhook" in line and "Sanctions imposed" in line


@pytest.mark.slow
def test_rules_test_on_files_exits_like_grep() -> None:
    feed = str(FIXTURES / "state/press-releases.rss")
    found = monitor("rules", "test", "biegun", "--file", feed)
    assert found.returncode == 0, found.stderr
    assert "U.S.-ROK Working Group" in found.stdout and "**Stephen Biegun**" in found.stdout
    assert "2 matching documents." in found.stdout
    page = str(FIXTURES / "news/epochtimes-pence-2018-02-12.html")
    none = monitor("rules", "test", "biegun", "--file", page)
    assert none.returncode == 1 and "0 matching documents." in none.stdout
    query = monitor("rules", "test", "--query", '"dropping sanctions"', "--file", page)
    assert query.returncode == 0 and "**dropping sanctions**" in query.stdout
    bad = monitor("rules", "test", "--query", "sanction* NEAR/3 (", "--file", page)
    assert bad.returncode == 2 and "query: missing ')' at column 19" in bad.stderr
    unknown = monitor("rules", "test", "beigun", "--file", page)
    assert unknown.returncode == 2
    assert "No rule with id 'beigun' (did you mean 'biegun'?)" in unknown.stderr
    text_file = monitor("rules", "test", "biegun", "--file", str(ROOT / "README.md"))
    assert text_file.returncode in (0, 1) and "Traceback" not in text_file.stderr


@pytest.mark.slow
def test_rules_test_over_stored_documents(server: FixtureServer, tmp_path: Path) -> None:
    env = _config_for(server, tmp_path)
    (tmp_path / "rules.yaml").write_text((ROOT / "config/rules.yaml").read_text())
    (tmp_path / "channels.yaml").write_text((ROOT / "config/channels.yaml").read_text())
    once = monitor("once", "--source", "state", env=env)
    assert "[biegun] Stephen Biegun mentioned" in once.stdout
    assert "**Stephen Biegun**" in once.stdout
    stored = monitor("rules", "test", "biegun", "--source", "state", env=env)
    assert stored.returncode == 0 and "2 matching documents." in stored.stdout
    recent = monitor("rules", "test", "biegun", "--since", "30d", env=env)
    assert recent.returncode == 1  # the 2018 releases are older than 30 days


def test_rules_test_shows_progress_over_many_documents(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from monitor.models import Document
    from monitor.store import Store

    url = f"sqlite:///{tmp_path}/many.db"
    store = Store.open(url)
    now = datetime.now(UTC)
    docs = [
        Document(
            id=f"d{i:05d}",
            source_id="bulk",
            url=f"https://e.org/{i}",
            title=f"Item {i}",
            body="Biegun met Lee." if i % 500 == 0 else "Nothing to see.",
            content_hash=str(i),
            fetched_at=now,
        )
        for i in range(2500)
    ]
    store.record_poll("bulk", docs, now=now)
    # A query any document may match reads them all (the word index finds "biegun" in 5).
    result = monitor("rules", "test", "--query", "NOT nothing", env={"MONITOR_DATABASE_URL": url})
    assert result.returncode == 0
    assert "5 matching documents." in result.stdout
    assert "Testing" in result.stderr  # the progress bar


@pytest.mark.slow
def test_channels_test_sends_through_the_channel(server: FixtureServer, tmp_path: Path) -> None:
    received: list[bytes] = []

    def hook(req):  # type: ignore[no-untyped-def]
        received.append(req.body)
        req.send_response(204)
        req.send_header("Content-Length", "0")
        req.end_headers()

    server.routes["/hook"] = hook
    (tmp_path / "sources.yaml").write_text((ROOT / "config/sources.yaml").read_text())
    (tmp_path / "channels.yaml").write_text(
        f"channels:\n  desk-hook: {{type: webhook, url: '{server.url('/hook')}'}}\n"
    )
    ok = monitor("--config-dir", str(tmp_path), "channels", "test", "desk-hook")
    assert ok.returncode == 0, ok.stderr
    assert "Sent a test alert through 'desk-hook' (HTTP 204)." in ok.stdout
    [body] = received
    assert json.loads(body)["document"]["title"] == "Test alert for channel 'desk-hook'"
    server.routes["/hook"] = Route(status=500)
    failed = monitor("--config-dir", str(tmp_path), "channels", "test", "desk-hook")
    assert failed.returncode == 1
    assert "test alert through 'desk-hook' failed: webhook answered HTTP 500" in failed.stderr


def test_check_refuses_an_alias_bomb_fast_and_in_little_memory(tmp_path: Path) -> None:
    import resource
    import time

    from tests.test_config import ALIAS_BOMB

    (tmp_path / "sources.yaml").write_text((ROOT / "config/sources.yaml").read_text())
    (tmp_path / "rules.yaml").write_text(ALIAS_BOMB)

    def limit_memory() -> None:  # the bomb grew past 19 GB before; 1 GB is plenty now
        resource.setrlimit(resource.RLIMIT_AS, (1024**3, 1024**3))

    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "--config-dir", str(tmp_path), "check"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        preexec_fn=limit_memory,  # noqa: PLW1509 - no threads in the child yet
    )
    assert time.monotonic() - started < 30  # a plain `check` takes about 1 s
    assert result.returncode == 1
    assert result.stderr.startswith(f"{tmp_path}/rules.yaml: too many YAML aliases")
    assert "MemoryError" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_invalid_timezone_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    env = {
        "MONITOR_TIMEZONE": "Europe/Brussel",
        "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path}/m.db",
    }
    for command in ("check", "run"):
        result = monitor(command, env=env)
        assert result.returncode == 1, result.stdout
        assert result.stderr.splitlines() == [
            "MONITOR_TIMEZONE: unknown time zone 'Europe/Brussel'"
        ], result.stderr
    assert monitor("check", env={"MONITOR_TIMEZONE": "Asia/Seoul"}).returncode == 0


def _open_files_under(folder: Path) -> list[str]:
    found = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(str(folder)):
            found.append(target)
    return found


def test_commands_close_the_database(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from monitor.cli import main

    env = {"MONITOR_DATABASE_URL": f"sqlite:///{tmp_path}/m.db"}
    commands = [
        ["documents"],
        ["show", "abcdef1"],
        ["db", "upgrade"],
        ["alerts"],
        ["alerts", "--failed"],
        ["rules", "test", "--query", "biegun"],
    ]
    for command in commands:
        result = CliRunner().invoke(main, command, env=env)
        assert result.exit_code in (0, 1), (command, result.output)
        assert _open_files_under(tmp_path) == [], command


def test_channels_test_closes_its_connections(server: FixtureServer, tmp_path: Path) -> None:
    import gc
    import warnings

    from click.testing import CliRunner

    from monitor.cli import main

    server.routes["/hook"] = Route(body=b"ok", content_type="text/plain")
    (tmp_path / "sources.yaml").write_text((ROOT / "config/sources.yaml").read_text())
    (tmp_path / "channels.yaml").write_text(
        f"channels:\n  desk-hook: {{type: webhook, url: '{server.url('/hook')}'}}\n"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = CliRunner().invoke(
            main, ["--config-dir", str(tmp_path), "channels", "test", "desk-hook"]
        )
        gc.collect()  # an unclosed connection is reported when it is collected
    assert result.exit_code == 0, result.output
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert unclosed == []
