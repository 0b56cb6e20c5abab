"""Staff feedback from the command line: `alerts feedback`, `rules test --labels`, `check`."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from monitor.alerts.base import idempotency_key
from monitor.cli import main
from monitor.models import Document
from monitor.rules.learn import sklearn_missing
from monitor.store import Store
from monitor.store.outbox import NewAlert
from tests.conftest import CONFIG, SHIPPED_CHANNELS_ENV

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
RULES = """\
labelled: ['sets/*.yaml']
rules:
  - id: change
    name: Sanctions change
    query: sanction*
    notify: [policy-email]
"""


def item(doc_id: str, body: str, expect: list[str]) -> dict[str, object]:
    return {"id": doc_id, "title": f"Title of {doc_id}", "body": body, "expect": expect}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    config = tmp_path / "config"
    (config / "sets").mkdir(parents=True)
    shutil.copy(CONFIG / "sources.yaml", config / "sources.yaml")
    shutil.copy(CONFIG / "channels.yaml", config / "channels.yaml")
    (config / "rules.yaml").write_text(RULES, encoding="utf-8")
    tuning = [
        item("tune-hit", "Treasury imposed sanctions today.", ["change"]),
        item("tune-talk", "Will there be sanctions relief?", []),
        item("tune-miss", "Treasury designated three firms.", ["change"]),
        item("tune-other", "The talks resumed.", []),
    ]
    heldout = [
        item("secret-hit", "The EU lifted sanctions.", ["change"]),
        item("secret-talk", "Sanctions were discussed.", []),
    ]
    (config / "sets/labelled.yaml").write_text(yaml.safe_dump(tuning), encoding="utf-8")
    (config / "sets/heldout.yaml").write_text(yaml.safe_dump(heldout), encoding="utf-8")
    return config


def run(folder: Path, *args: str, **env: str) -> Result:
    environment = {
        **SHIPPED_CHANNELS_ENV,
        "MONITOR_DATABASE_URL": f"sqlite:///{folder.parent}/monitor.db",
        "MONITOR_PUBLIC_URL": "",
        "MONITOR_FEEDBACK_SECRET": "",
        "MONITOR_WEBHOOK_SECRET": "",
        **env,
    }
    return CliRunner().invoke(main, ["--config-dir", str(folder), *args], env=environment)


def stored_alert(folder: Path, doc_id: str, body: str) -> str:
    """A stored document with one alert for rule 'change' in the outbox; the alert's key."""
    store = Store.open(f"sqlite:///{folder.parent}/monitor.db")
    try:
        document = Document(
            id=doc_id,
            source_id="state-press-releases",
            url=f"https://www.state.gov/{doc_id}/",
            title=f"Release {doc_id}",
            body=body,
            content_hash=doc_id,
            fetched_at=NOW,
        )
        store.record_poll("state-press-releases", [document], now=NOW)
        key = idempotency_key("change", doc_id, 1, "policy-email")
        payload = {"rule": {"name": "Sanctions change"}, "document": {"title": document.title}}
        store.enqueue([NewAlert(key, "policy-email", "change", doc_id, 1, payload)], NOW)
        return key
    finally:
        store.close()


def test_alerts_feedback_records_and_replaces_a_vote(folder: Path) -> None:
    key = stored_alert(folder, "a" * 24, "Sanctions were discussed at length.")
    useful = run(folder, "alerts", "feedback", key[:10], "useful")
    assert useful.exit_code == 0, useful.output
    assert useful.output == f"Recorded: alert 1 [change] Release {'a' * 24} — useful.\n"
    changed = run(folder, "alerts", "feedback", f"<{key}@example.org>", "not-useful")
    assert changed.output.endswith("— not useful (was useful).\n")
    store = Store.open(f"sqlite:///{folder.parent}/monitor.db")
    try:
        assert store.feedback.labels() == {("change", "a" * 24): False}
        row = store.feedback.verdict(key)
        assert row is not None and row.via == "cli"
    finally:
        store.close()


def test_alerts_feedback_on_an_unknown_alert_names_it(folder: Path) -> None:
    result = run(folder, "alerts", "feedback", "999", "useful")
    assert result.exit_code == 1
    assert result.output.startswith("No alert '999' (give its ID from `monitor alerts`")
    bad = run(folder, "alerts", "feedback", "1", "maybe")
    assert bad.exit_code == 2 and "'maybe' is not one of 'useful', 'not-useful'" in bad.output


def test_rules_test_labels_scores_feedback_and_sets_but_hides_held_out_documents(
    folder: Path,
) -> None:
    key = stored_alert(folder, "b" * 24, "Sanctions were discussed at length.")
    run(folder, "alerts", "feedback", key, "not-useful")
    result = run(folder, "rules", "test", "change", "--labels")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Rule 'change' on labelled documents (a document counts once per set):"
    rows = [" ".join(line.split()) for line in lines if line.startswith(("feedback", str(folder)))]
    assert rows[0] == "feedback (1 vote) query 1 0 1 0 0 0.00 - -"
    assert rows[1] == f"{folder}/sets/labelled.yaml query 4 1 1 1 1 0.50 0.50 0.50"
    assert rows[2] == f"{folder}/sets/heldout.yaml (held out) query 2 1 1 0 0 0.50 1.00 0.67"
    assert "false positive  feedback  " + "b" * 24 in result.output
    assert "false positive" in result.output and "tune-talk" in result.output
    assert "false negative" in result.output and "tune-miss" in result.output
    assert "secret-" not in result.output  # held-out documents are never shown one by one


def test_check_says_feedback_links_are_off_as_information(folder: Path) -> None:
    result = run(folder, "check")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1] == (
        "info: alerts carry no feedback links: set MONITOR_PUBLIC_URL to the web pages' URL"
    )
    on = run(
        folder,
        "check",
        MONITOR_PUBLIC_URL="https://monitor.example.org",
        MONITOR_FEEDBACK_SECRET="s" * 20,
    )
    assert "feedback links" not in on.output


@pytest.mark.skipif(sklearn_missing(), reason="scikit-learn is not installed (the learn extra)")
def test_check_and_rules_test_say_when_a_learning_rule_lacks_labels(folder: Path) -> None:
    rules = folder / "rules.yaml"
    rules.write_text(rules.read_text(encoding="utf-8") + "    learn: true\n", encoding="utf-8")
    checked = run(folder, "check")
    assert checked.exit_code == 0, checked.output
    expected = (
        "rule 'change': learn: not enough labels yet, 2 labelled documents its query matches "
        "(1 useful, 1 not useful); "
        "it needs 20 with at least 5 of each, so the query alone decides"
    )
    assert f"info: {expected}" in checked.stdout.splitlines()
    tested = run(folder, "rules", "test", "change", "--labels")
    assert expected in tested.output and "query + classifier" not in tested.output


@pytest.mark.skipif(sklearn_missing(), reason="scikit-learn is not installed (the learn extra)")
def test_rules_test_why_shows_the_classifier_score(folder: Path, tmp_path: Path) -> None:
    from tests.rules.test_learn import CHANGES, TALK

    tuning = [
        item(f"{kind}-{n}", texts[n % 5].format(n=n + 2), expect)
        for n in range(15)
        for kind, texts, expect in (("change", CHANGES, ["change"]), ("talk", TALK, []))
    ]
    (folder / "sets/labelled.yaml").write_text(yaml.safe_dump(tuning), encoding="utf-8")
    rules = folder / "rules.yaml"
    rules.write_text(rules.read_text(encoding="utf-8") + "    learn: true\n", encoding="utf-8")
    talk = tmp_path / "talk.txt"
    talk.write_text("Briefing\n\nQUESTION: Would there be any sanctions relief if talks resume?")
    turned_down = run(folder, "rules", "test", "change", "--file", str(talk), "--why")
    assert turned_down.exit_code == 1, turned_down.output
    assert "not matched: the classifier turned it down" in turned_down.output
    assert re.search(
        r"classifier: score 0\.[0-4]\d \(turned down; it keeps 0\.50", turned_down.output
    )
    change = tmp_path / "change.txt"
    change.write_text("Release\n\nTreasury today designated four entities under sanctions rules.")
    kept = run(
        folder, "rules", "test", "change", "--file", str(change), "--why", "--ignore-filters"
    )
    assert kept.exit_code == 0, kept.output
    assert re.search(r"classifier: score 0\.[5-9]\d \(kept;", kept.output)
    labels = run(folder, "rules", "test", "change", "--labels")
    assert "query + classifier" in labels.output
    assert (
        "learn: a classifier trained on 30 labelled documents its query matches "
        "(15 useful, 15 not useful)" in labels.output
    )


@pytest.mark.skipif(sklearn_missing(), reason="scikit-learn is not installed (the learn extra)")
def test_check_refuses_an_unreadable_labelled_set_a_learning_rule_needs(folder: Path) -> None:
    rules = folder / "rules.yaml"
    rules.write_text(rules.read_text(encoding="utf-8") + "    learn: true\n", encoding="utf-8")
    (folder / "sets/labelled.yaml").write_text("- id: x\n  title: [unclosed\n", encoding="utf-8")
    result = run(folder, "check")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.startswith(f"{folder}/sets/labelled.yaml: cannot read this labelled set")
    assert "OK:" not in result.stdout


def test_a_labelled_glob_matching_no_file_is_named_by_check_and_by_labels(folder: Path) -> None:
    # As in a Docker image without the fixtures: the sets are named but nothing is there.
    shutil.rmtree(folder / "sets")
    checked = run(folder, "check")
    assert checked.exit_code == 0, checked.output
    assert (
        f"{folder}/rules.yaml:1: warning: labelled set 'sets/*.yaml' matches no file "
        f"(looked in {folder.resolve()})"
    ) in checked.output
    labels = run(folder, "rules", "test", "change", "--labels")
    assert labels.exit_code == 0, labels.output
    assert "name them under 'labelled:'" not in labels.output
    assert (
        "No labelled sets: the labelled sets named under 'labelled:' ('sets/*.yaml') in "
        f"{folder}/rules.yaml match no file (relative to {folder.resolve()})."
    ) in labels.output
