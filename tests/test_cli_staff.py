"""Day one for policy staff: every mistake gets a one-line answer that names the thing.

Each test runs the command as a user would (the demo as a subprocess, the rest through
click's runner) and checks what they read and the exit code.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from monitor.cli import main
from monitor.store import Store
from tests.conftest import CONFIG, FIXTURES, ROOT, SHIPPED_CHANNELS_ENV
from tests.inprocess import run_monitor

CLASS_NAMES = ("MonitorError", "ConfigError", "QuerySyntaxError", "StoreError", "Traceback")


def cli(*args: str, env: Mapping[str, str | None] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env={**SHIPPED_CHANNELS_ENV, **(env or {})})


def no_class_names(result: Result) -> bool:
    return not any(name in result.output for name in CLASS_NAMES)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """`monitor demo` run once in a fresh folder: (that folder, what it printed)."""
    folder = tmp_path_factory.mktemp("demo")
    # In this process (tests/test_cli.py runs the demo as a real process).
    result = run_monitor("--config-dir", str(CONFIG), "demo", cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder, result.stdout


@pytest.fixture
def demo_env(demo: tuple[Path, str]) -> dict[str, str]:
    folder, _ = demo
    return {
        "MONITOR_DATABASE_URL": f"sqlite:///{folder}/data/demo/monitor.db",
        "MONITOR_CONFIG_DIR": str(CONFIG),
    }


def config_dir(tmp_path: Path, rules_yaml: str) -> Path:
    folder = tmp_path / "config"
    folder.mkdir()
    shutil.copy(CONFIG / "sources.yaml", folder / "sources.yaml")
    shutil.copy(CONFIG / "channels.yaml", folder / "channels.yaml")
    (folder / "rules.yaml").write_text(rules_yaml, encoding="utf-8")
    return folder


# -- 1. the demo leaves a database to try rules on ------------------------------------


def test_demo_keeps_its_database_and_says_how_to_try_rules(demo: tuple[Path, str]) -> None:
    folder, out = demo
    assert (folder / "data/demo/monitor.db").exists()
    assert "9 documents stored in data/demo/monitor.db" in out
    assert "export MONITOR_DATABASE_URL=sqlite:///data/demo/monitor.db" in out
    assert "monitor rules test biegun" in out
    assert "monitor web                  # the web pages on http://127.0.0.1:8080/" in out
    # What it says works, from the same folder.
    result = run_monitor(
        "--config-dir",
        str(CONFIG),
        "rules",
        "test",
        "biegun",
        cwd=folder,
        env={
            **{name: None for name in os.environ if name.startswith("MONITOR_")},
            "MONITOR_DATABASE_URL": "sqlite:///data/demo/monitor.db",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "U.S.-ROK Working Group" in result.stdout
    assert "Searched all 9 stored documents." in result.stdout


def _clean_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}


def test_demo_run_twice_starts_afresh(tmp_path: Path) -> None:
    from monitor.demo import default_fixtures_dir, run_demo

    lines: list[str] = []
    out = tmp_path / "data/demo"
    assert run_demo(CONFIG, default_fixtures_dir(), lines.append, out_dir=out) == 9
    assert run_demo(CONFIG, default_fixtures_dir(), lines.append, out_dir=out) == 9
    assert (out / "monitor.db").exists()


def test_rules_test_since_says_what_range_was_searched(demo_env: dict[str, str]) -> None:
    result = cli("rules", "test", "biegun", "--since", "30d", env=demo_env)
    assert result.exit_code == 1
    assert "0 matching documents." in result.stdout
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith("Searched 0 of 9 stored documents: published since 20")
    assert "(--since 30d)" in summary
    assert "9 are older (the newest was published 2018-11-21)" in summary


def test_rules_test_names_the_source_it_searched(demo_env: dict[str, str]) -> None:
    result = cli("rules", "test", "biegun", "--source", "state-press-releases", env=demo_env)
    assert result.exit_code == 0, result.output
    assert "Searched 2 of 9 stored documents: from source 'state-press-releases'." in result.stdout


def test_rules_test_on_an_empty_database_says_how_to_get_documents(tmp_path: Path) -> None:
    env = {"MONITOR_DATABASE_URL": f"sqlite:///{tmp_path}/m.db"}
    result = cli("--config-dir", str(CONFIG), "rules", "test", "biegun", env=env)
    assert result.exit_code == 1
    assert "0 matching documents." in result.stdout
    assert f"No documents are stored in {tmp_path}/m.db yet" in result.stdout
    assert "`monitor once`" in result.stdout and "`monitor demo`" in result.stdout
    listing = cli("documents", env=env)
    assert listing.exit_code == 0
    assert listing.stdout.startswith(f"No documents stored in {tmp_path}/m.db yet")


# -- 2. check catches rules that can never fire ----------------------------------------

RULE = "rules:\n  - id: watch\n    name: Watch\n    query: biegun\n    notify: [policy-email]\n"


def test_check_refuses_an_unknown_source_id(tmp_path: Path) -> None:
    folder = config_dir(tmp_path, RULE + "    sources: [state-archive, yonhap-north-kroea]\n")
    result = cli("--config-dir", str(folder), "check", env={"MONITOR_DATABASE_URL": "sqlite://"})
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"{folder}/rules.yaml:6: rule 'watch': unknown source 'yonhap-north-kroea' "
        "(did you mean 'yonhap-north-korea'?)"
    )


def test_check_warns_on_a_source_glob_that_matches_nothing(tmp_path: Path) -> None:
    folder = config_dir(tmp_path, RULE + "    sources:\n      - 'state-*'\n      - 'ofac-*'\n")
    result = cli("--config-dir", str(folder), "check", env={"MONITOR_DATABASE_URL": "sqlite://"})
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == (
        f"{folder}/rules.yaml:8: warning: rule 'watch': 'ofac-*' matches no source in "
        "sources.yaml (sources: epochtimes-world, state-archive, state-press-releases, "
        "treasury-press-releases, yonhap-north-korea)"
    )
    assert result.stdout.startswith("OK: 5 sources, 1 rule,") and "1 warning" in result.stdout


def test_check_warns_on_an_unknown_kind_from_sources(tmp_path: Path) -> None:
    folder = config_dir(tmp_path, RULE + "    kinds: [Artcle]\n")
    db = tmp_path / "none.db"
    result = cli(
        "--config-dir", str(folder), "check", env={"MONITOR_DATABASE_URL": f"sqlite:///{db}"}
    )
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == (
        f"{folder}/rules.yaml:6: warning: rule 'watch': no source sets kind 'Artcle' and no "
        "stored document has it (did you mean 'Article'?)"
    )
    assert not db.exists()  # check does not create a database to read kinds from


def test_check_compares_kinds_with_stored_documents(
    tmp_path: Path, demo_env: dict[str, str]
) -> None:
    folder = config_dir(tmp_path, RULE + "    kinds: ['Media Note', 'Media Nte', 'remarks']\n")
    env = {"MONITOR_DATABASE_URL": demo_env["MONITOR_DATABASE_URL"]}
    result = cli("--config-dir", str(folder), "check", env=env)
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == (
        f"{folder}/rules.yaml:6: warning: rule 'watch': no source sets kind 'Media Nte' and "
        "no stored document has it (did you mean 'Media Note'?)"
    )


def test_check_warns_on_a_rule_without_channels(tmp_path: Path) -> None:
    rules = "rules:\n  - id: quiet\n    name: Quiet\n    query: biegun\n    notify: []\n"
    folder = config_dir(tmp_path, rules)
    result = cli("--config-dir", str(folder), "check", env={"MONITOR_DATABASE_URL": "sqlite://"})
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == (
        f"{folder}/rules.yaml:5: warning: rule 'quiet': 'notify' is empty, so its matches "
        "never alert anyone (channels: ops-webhook, policy-email)"
    )


def test_check_still_names_an_unknown_channel_on_its_line(tmp_path: Path) -> None:
    folder = config_dir(tmp_path, RULE.replace("[policy-email]", "[policy-email, ops-webhok]"))
    result = cli("--config-dir", str(folder), "check", env={"MONITOR_DATABASE_URL": "sqlite://"})
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"{folder}/rules.yaml:5: rule 'watch': unknown channel 'ops-webhok' "
        "(did you mean 'ops-webhook'?)"
    )


# -- 3. a source-limited rule on a file -----------------------------------------------


def test_rules_test_file_says_why_a_source_limited_rule_finds_nothing(tmp_path: Path) -> None:
    folder = config_dir(tmp_path, RULE + "    sources: ['state-*']\n")
    feed = str(FIXTURES / "state/press-releases.rss")
    result = cli("--config-dir", str(folder), "rules", "test", "watch", "--file", feed)
    assert result.exit_code == 1
    assert "0 matching documents." in result.stdout
    assert (
        "2 documents in the file match the query, but rule 'watch' only applies to "
        "sources state-* and documents read from a file have no source: "
        "--ignore-filters tests the query alone (or --source ID reads the file as that "
        "source's)." in result.stdout
    )
    alone = cli(
        "--config-dir", str(folder), "rules", "test", "watch", "--file", feed, "--ignore-filters"
    )
    assert alone.exit_code == 0, alone.output
    assert "2 matching documents." in alone.stdout and "U.S.-ROK Working Group" in alone.stdout


def test_rules_test_says_when_kinds_exclude_stored_matches(
    tmp_path: Path, demo_env: dict[str, str]
) -> None:
    folder = config_dir(tmp_path, RULE + "    kinds: ['Press Release']\n")
    env = {**demo_env, "MONITOR_CONFIG_DIR": str(folder)}
    result = cli("rules", "test", "watch", env=env)
    assert result.exit_code == 1
    assert (
        "3 more documents match the query but not the rule's filters (kinds Press Release): "
        "--ignore-filters tests the query alone." in result.stdout
    )


# -- 4. what `show` prints, `rules test --file` reads ----------------------------------


def test_show_output_is_readable_by_rules_test_file(
    tmp_path: Path, demo_env: dict[str, str]
) -> None:
    listing = cli("documents", "--source", "state-press-releases", env=demo_env)
    row = next(line for line in listing.stdout.splitlines() if "U.S.-ROK" in line)
    shown = cli("show", row.split()[0], env=demo_env)
    assert shown.exit_code == 0, shown.output
    (tmp_path / "d.json").write_text(shown.stdout)
    result = cli("rules", "test", "biegun", "--file", str(tmp_path / "d.json"), env=demo_env)
    assert result.exit_code == 0, result.output
    assert "1 matching document." in result.stdout and "**Stephen Biegun**" in result.stdout
    assert "state-press-releases · Media Note" in result.stdout


def test_rules_test_reads_a_hand_written_json_document(tmp_path: Path) -> None:
    (tmp_path / "d.json").write_text(
        json.dumps({"title": "Envoy named", "body": "Stephen Biegun will travel to Seoul."})
    )
    result = cli(
        "--config-dir", str(CONFIG), "rules", "test", "biegun", "--file", str(tmp_path / "d.json")
    )
    assert result.exit_code == 0, result.output
    assert "**Stephen Biegun**" in result.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '{"title": "x", "publshed_at": "2018-11-20"}',
            ": unknown field 'publshed_at' (did you mean 'published_at'?)",
        ),
        (
            '[{"title": "x"}, {"title": "y", "published_at": "last week"}]',
            ": document 2: 'published_at': 'last week' is not a date and time "
            "(e.g. 2018-11-20T21:06:00Z)",
        ),
        ('{"title": ["x"]}', ": 'title': expected text"),
        ('{"title": "x",\n "body": }', ":2:10: not valid JSON: Expecting value"),
        ('"just text"', ": expected a JSON object (a Document) or a list of them"),
    ],
    ids=["unknown-field", "bad-date", "wrong-type", "syntax", "not-an-object"],
)
def test_json_file_errors_name_the_file_and_field(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "d.json"
    path.write_text(content)
    result = cli("--config-dir", str(CONFIG), "rules", "test", "biegun", "--file", str(path))
    assert result.exit_code == 2
    assert result.stderr.strip() == f"{path}{message}"
    assert no_class_names(result) and "pydantic" not in result.output


# -- 5. messages name things ------------------------------------------------------------


def test_errors_carry_no_python_class_names(tmp_path: Path) -> None:
    env = {"MONITOR_DATABASE_URL": f"sqlite:///{tmp_path}/m.db", "MONITOR_CONFIG_DIR": str(CONFIG)}
    shown = cli("show", "abcdef123", env=env)
    assert shown.exit_code == 1
    assert shown.stderr.strip() == "No document with id 'abcdef123' (see `monitor documents`)"
    once = cli("once", "--source", "state-press", "--dry-run", env=env)
    assert once.exit_code == 1
    assert once.stderr.strip().startswith("No source with id 'state-press'")
    query = cli("rules", "test", "--query", "sanction* NEAR/3 (", env=env)
    assert query.exit_code == 2
    assert query.stderr.splitlines() == [
        "query: missing ')' at column 19",
        "    sanction* NEAR/3 (",
        "                      ^",
    ]
    for result in (shown, once, query):
        assert no_class_names(result), result.output


def test_a_bad_rule_id_says_which_characters(tmp_path: Path) -> None:
    folder = config_dir(tmp_path, RULE.replace("id: watch", "id: Watch_This"))
    result = cli("--config-dir", str(folder), "check", env={"MONITOR_DATABASE_URL": "sqlite://"})
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"{folder}/rules.yaml:2: rule 'Watch_This': 'id': 'Watch_This' is not a valid id: "
        "use lowercase letters, digits and '-'"
    )


def test_rules_test_unknown_rule_lists_the_rules() -> None:
    result = cli("--config-dir", str(CONFIG), "rules", "test", "nosuchrule")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "No rule with id 'nosuchrule'; rules: biegun, dprk-weapons-test, ofac-designations, "
        "sanctions-change, us-rok-alliance"
    )
    typo = cli("--config-dir", str(CONFIG), "rules", "test", "beigun")
    assert typo.stderr.strip().startswith("No rule with id 'beigun' (did you mean 'biegun'?);")


def test_channels_test_unknown_channel_lists_the_channels() -> None:
    result = cli("--config-dir", str(CONFIG), "channels", "test", "nope")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "No channel named 'nope'; channels: ops-webhook, policy-email (see `monitor channels list`)"
    )
    typo = cli("--config-dir", str(CONFIG), "channels", "test", "policy-mail")
    assert typo.stderr.strip().startswith("No channel named 'policy-mail' (did you mean")


def test_channels_list_shows_each_channel_and_its_rules() -> None:
    result = cli("--config-dir", str(CONFIG), "channels", "list", env={"OPS_WEBHOOK_URL": None})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["CHANNEL", "TYPE", "SENDS", "TO", "RULES"]
    email = next(line for line in lines if line.startswith("policy-email"))
    assert "email" in email and "analysts@example.org" in email
    assert "biegun, sanctions-change, dprk-weapons-test" in email
    hook = next(line for line in lines if line.startswith("ops-webhook"))
    # OPS_WEBHOOK_URL unset: the shipped (optional) webhook is listed as off, with its fix.
    assert "off" in hook and "OPS_WEBHOOK_URL" in hook
    assert "sanctions-change, ofac-designations" in hook


def test_channels_list_hides_webhook_paths(tmp_path: Path) -> None:
    folder = config_dir(tmp_path, RULE)
    (folder / "channels.yaml").write_text(
        "channels:\n  policy-email: {type: email, to: [a@example.org]}\n"
        "  chat: {type: webhook, url: 'https://hooks.example.com/services/T0/B0/secret', "
        "format: slack}\n"
    )
    result = cli("--config-dir", str(folder), "channels", "list")
    assert result.exit_code == 0, result.output
    assert "https://hooks.example.com/…" in result.stdout and "secret" not in result.stdout


def test_show_says_when_a_prefix_is_too_short(tmp_path: Path) -> None:
    env = {"MONITOR_DATABASE_URL": f"sqlite:///{tmp_path}/m.db"}
    result = cli("show", "7ee", env=env)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "'7ee' is too short: give at least 6 characters of a document id (see `monitor documents`)"
    )


def test_documents_with_an_unknown_source_is_an_error(demo_env: dict[str, str]) -> None:
    result = cli("documents", "--source", "state-press", env=demo_env)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "No source with id 'state-press' (did you mean 'state-press-releases'?)"
    )
    rules = cli("rules", "test", "biegun", "--source", "nope", env=demo_env)
    assert rules.exit_code == 2 and rules.stderr.startswith("No source with id 'nope'")
    known = cli("documents", "--source", "state-archive", env=demo_env)  # configured, none stored
    assert (
        known.exit_code == 0 and "No documents stored from source 'state-archive'." in known.stdout
    )


def test_documents_says_by_which_date_it_sorts(demo_env: dict[str, str]) -> None:
    assert "newest first by when monitor stored them" in cli("documents", "--help").stdout
    listing = cli("documents", env=demo_env).stdout
    assert listing.splitlines()[0].split()[:6] == [
        "ID",
        "SOURCE",
        "KIND",
        "STORED",
        "(UTC)",
        "PUBLISHED",
    ]
    assert "alerts queued most recently first" in cli("alerts", "--help").stdout


def test_rules_list_shows_every_filter_whole(tmp_path: Path) -> None:
    sources = ["state-press-releases", "state-archive", "treasury-press-releases"]
    kinds = ["Press Release", "Media Note", "Remarks to the Press"]
    folder = config_dir(
        tmp_path, RULE + f"    sources: {json.dumps(sources)}\n    kinds: {json.dumps(kinds)}\n"
    )
    result = cli("--config-dir", str(folder), "rules", "list")
    assert result.exit_code == 0, result.output
    assert "…" not in result.stdout
    assert f"sources {', '.join(sources)}; kinds {', '.join(kinds)}" in result.stdout


# -- 6. a highlight stops at the word ---------------------------------------------------


def test_a_highlight_leaves_the_full_stop_outside() -> None:
    page = str(FIXTURES / "treasury/sm0297.html")
    result = cli(
        "--config-dir",
        str(CONFIG),
        "rules",
        "test",
        "--query",
        '"Steven T. Mnuchin"',
        "--file",
        page,
    )
    assert result.exit_code == 0, result.output
    assert "said Treasury Secretary **Steven T. Mnuchin**." in result.stdout
    us = cli("--config-dir", str(CONFIG), "rules", "test", "--query", '"U.S."', "--file", page)
    assert "**U.S.**" in us.stdout  # an abbreviation keeps its own dot


def test_readme_shows_what_the_demo_prints_at_the_end(demo: tuple[Path, str]) -> None:
    _, out = demo
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("9 documents stored in", 1)[1].split("```", 1)[0]
    assert ("9 documents stored in" + block).strip() in out
    assert "monitor channels list" in readme and "--ignore-filters" in readme


@pytest.mark.slow
def test_readme_rules_test_examples_work_on_the_demo_database(demo: tuple[Path, str]) -> None:
    folder, _ = demo
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("Try a rule before relying on it.", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [
        line.split("  #", 1)[0].strip()
        for line in block.splitlines()
        if "rules test" in line and "article.html" not in line  # a file of your own
    ]
    assert len(commands) == 4
    env = {**_clean_env(), "MONITOR_DATABASE_URL": "sqlite:///data/demo/monitor.db"}
    env["MONITOR_CONFIG_DIR"] = str(CONFIG)
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    for command in commands:
        result = subprocess.run(
            command, shell=True, capture_output=True, text=True, timeout=120, cwd=folder, env=env
        )
        assert result.returncode in (0, 1), (command, result.stderr)
        assert "Searched" in result.stdout, command
        assert result.stderr == "", (command, result.stderr)


def test_store_reports_kinds_sources_and_newest_date_on_every_backend(store: Store) -> None:
    from datetime import UTC, datetime

    from monitor.models import Document

    now = datetime(2026, 12, 1, tzinfo=UTC)
    docs = [
        Document(
            id=f"d{i}",
            source_id=source,
            url=f"https://e.org/{i}",
            title=f"Item {i}",
            kind=kind,
            published_at=published,
            content_hash=str(i),
            fetched_at=now,
        )
        for i, (source, kind, published) in enumerate(
            [
                ("a", "Media Note", datetime(2018, 11, 20, 21, 6, tzinfo=UTC)),
                ("a", None, None),  # undated: its first-seen time counts
                ("b", "Remarks", datetime(2018, 2, 12, tzinfo=UTC)),
            ]
        )
    ]
    store.record_poll("a", docs[:2], now=now)
    store.record_poll("b", docs[2:], now=now)
    assert store.document_kinds() == ["Media Note", "Remarks"]
    assert store.document_sources() == ["a", "b"]
    assert store.newest_date("b") == datetime(2018, 2, 12, tzinfo=UTC)
    assert store.newest_date() == now


def test_channels_that_are_off_are_named_not_missing() -> None:
    # The shipped channels are optional: unset variables turn them off, not into nothing.
    env = {"OPS_WEBHOOK_URL": None, "POLICY_EMAIL_TO": None}
    result = cli("--config-dir", str(CONFIG), "channels", "test", "nope", env=env)
    assert result.exit_code != 0
    assert "channels: ops-webhook (off), policy-email (off)" in result.stderr
    assert "defines none" not in result.stderr
