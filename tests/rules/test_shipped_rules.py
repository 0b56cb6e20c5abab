"""The shipped rules (config/rules.yaml) on recorded releases and the labelled sets."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.models import Document
from monitor.rules import RuleSet
from monitor.rules.quality import Labelled, load_labelled, score
from monitor.store import Store
from tests.conftest import CONFIG, FIXTURES, fast_settings, poll, shipped_sources

RULES = load_config(CONFIG).rules


def _labelled(name: str) -> list[Labelled]:
    return load_labelled(FIXTURES / "rules" / name)


def _scores(ruleset: RuleSet, items: list[Labelled]) -> dict[str, tuple[float, float]]:
    return {rule_id: (s.precision, s.recall) for rule_id, s in score(ruleset, items).items()}


def _report(
    title: str, scores: dict[str, tuple[float, float]], capsys: pytest.CaptureFixture[str]
) -> None:
    with capsys.disabled():  # shown in every test run, not only with -s
        print(f"\n{title}")
        for rule_id, (precision, recall) in scores.items():
            print(f"  {rule_id:20s} precision {precision:.2f}  recall {recall:.2f}")


def test_shipped_rules_precision_and_recall_on_the_labelled_set(
    capsys: pytest.CaptureFixture[str],
) -> None:
    items = _labelled("labelled.yaml")
    assert len(items) >= 40
    scores = _scores(RULES, items)
    _report(f"labelled set ({len(items)} documents)", scores, capsys)
    assert {r.id for r in RULES.rules} == set(scores)
    for rule_id, (precision, recall) in scores.items():
        assert precision >= 0.9, f"{rule_id}: precision {precision:.2f}"
        assert recall >= 0.9, f"{rule_id}: recall {recall:.2f}"


def test_shipped_rules_on_the_held_out_set(capsys: pytest.CaptureFixture[str]) -> None:
    """Written after the rules and never used to tune them: how the rules generalise.

    The floor only guards against regressions; the figures printed are the measurement.
    """
    path = FIXTURES / "rules" / "heldout.yaml"
    if not path.exists():
        pytest.skip("fixtures/rules/heldout.yaml is not there")
    items = _labelled("heldout.yaml")
    scores = _scores(RULES, items)
    _report(f"held-out set ({len(items)} documents)", scores, capsys)
    for rule_id, (precision, recall) in scores.items():
        assert precision >= 0.6 and recall >= 0.6, (rule_id, precision, recall)


ISSUE_11 = [
    # The errors issue 11 lists: talk about sanctions fired the rule, changes were missed.
    ("QUESTION: Will there be any sanctions relief?\nMR. PRICE: Nothing to announce.", False),
    ("Will the United States consider lifting sanctions if the North freezes its program?", False),
    ("He gave no sign that Washington was prepared to ease sanctions.", False),
    ("Treasury today sanctioned one individual and three entities in Russia.", True),
    ("Japan added nine entities to its asset freeze list.", True),
    (
        "Treasury today designated three hacking groups. The designations block all property "
        "and interests in property of the groups.",
        True,
    ),
]


@pytest.mark.parametrize(("text", "fires"), ISSUE_11, ids=[t[:40] for t, _ in ISSUE_11])
def test_sanctions_change_tells_changes_from_talk(text: str, fires: bool) -> None:
    document = Document(
        id="d",
        source_id="state-press-releases",
        url="https://e.org/",
        title="Untitled",
        body=text,
        content_hash="x",
        fetched_at=datetime(2026, 12, 1, tzinfo=UTC),
    )
    matched = {rule.id for rule in RULES.matching_rules(document)}
    assert ("sanctions-change" in matched) is fires


def test_recorded_releases_match_as_an_analyst_expects(tmp_path: Path, production_server) -> None:  # type: ignore[no-untyped-def]
    settings = fast_settings(tmp_path)
    store = Store.open(settings.database_url)
    results = poll(shipped_sources(), store, settings, rewrite_to=production_server, rules=RULES)
    matched: dict[str, set[str]] = {}
    for result in results:
        for change in result.changes:
            matched.setdefault(change.document.title, set()).update(
                m.rule_id for m in change.matches
            )
    pence = "Pence: US and South Korea in Agreement on North Korea Diplomacy"
    assert "biegun" in matched["U.S.-ROK Working Group"]
    assert "biegun" in matched["Remarks to the Press"]
    assert "biegun" not in matched[pence]
    assert "sanctions-change" in matched[pence]
    assert "sanctions-change" not in matched["U.S.-ROK Working Group"]
    assert "sanctions-change" not in matched["Remarks to the Press"]
    # Stored with the documents, evidence included.
    stored = store.matches(rule_id="sanctions-change")
    pence_match = next(m for m in stored if "sanctions" in m.snippet and "new" in m.terms)
    assert "**new** **sanctions**" in pence_match.marked()


def test_an_edited_article_does_not_alert_again_for_the_same_rule(
    tmp_path: Path,
    production_server,  # type: ignore[no-untyped-def]
) -> None:
    from monitor.fixture_server import Route, production_path

    settings = fast_settings(tmp_path)
    store = Store.open(settings.database_url)
    sources = [s for s in shipped_sources() if s.id == "epochtimes-world"]
    [first] = poll(sources, store, settings, rewrite_to=production_server, rules=RULES)
    assert any(m.rule_id == "sanctions-change" for c in first.changes for m in c.matches)
    feed = production_path("https://www.theepochtimes.com/c-world/feed")
    page = production_path(
        "https://www.theepochtimes.com/"
        "pence-us-and-south-korea-in-agreement-on-north-korea-diplomacy_2441222.html"
    )
    old = production_server.routes[feed]
    production_server.routes[feed] = Route(body=old.body + b"\n", content_type=old.content_type)  # type: ignore[union-attr]
    production_server.routes[page] = Route(
        body=(FIXTURES / "news/epochtimes-pence-2018-02-12.v2.html").read_bytes()
    )
    [second] = poll(sources, store, settings, rewrite_to=production_server, rules=RULES)
    [updated] = [c for c in second.changes if c.change == "updated"]
    assert updated.document.version == 2
    assert updated.matches == []  # sanctions-change matched version 1 already
    assert len(store.matches(rule_id="sanctions-change")) == 1
