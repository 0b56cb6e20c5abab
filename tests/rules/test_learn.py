"""`learn: true`: a classifier trained on a rule's labels decides among its query's matches."""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime
from pathlib import Path

import pytest

import monitor.config
import monitor.rules.learn as learn
from monitor.config import LoadedYaml, load_yaml, parse_rules
from monitor.errors import ConfigError
from monitor.models import Document
from monitor.rules import Rule, RuleSet, parse_query

needs_sklearn = pytest.mark.skipif(
    learn.sklearn_missing(), reason="scikit-learn is not installed (pip install -e '.[learn]')"
)

CHANGES = [
    "Treasury today designated {n} entities for evading sanctions on North Korea.",
    "The European Union imposed new sanctions on {n} officials today.",
    "OFAC added {n} vessels to the sanctions list and blocked their property.",
    "Japan lifted sanctions on {n} companies after the review ended.",
    "The State Department announced sanctions against {n} shipping firms.",
]
TALK = [
    "QUESTION: Will there be any sanctions relief for the {n} firms?",
    "Would Washington consider easing sanctions if the {n} talks go well?",
    "Analysts debated whether sanctions on the {n} banks work at all.",
    "He gave no sign that the {n} sanctions would be eased soon.",
    "Officials discussed the history of sanctions in {n} meetings.",
]


def document(doc_id: str, text: str) -> Document:
    return Document(
        id=doc_id,
        source_id="test",
        url="https://e.org/",
        title=text[:40],
        body=text,
        content_hash="x",
        fetched_at=datetime(2026, 12, 1, tzinfo=UTC),
    )


def labelled(count: int) -> list[tuple[Document, frozenset[str]]]:
    """`count` documents of each kind, labelled for rule 'change'."""
    out = []
    for n in range(count):
        change = CHANGES[n % len(CHANGES)].format(n=n + 2)
        talk = TALK[n % len(TALK)].format(n=n + 2)
        out.append((document(f"change-{n}", change), frozenset({"change"})))
        out.append((document(f"talk-{n}", talk), frozenset()))
    return out


def learning_rules() -> RuleSet:
    query = "sanction*"
    return RuleSet(
        [Rule(id="change", name="Change", query=query, ast=parse_query(query), learn=True)]
    )


def no_votes(_doc_id: str) -> Document | None:
    return None


def test_with_too_few_labels_the_query_alone_decides() -> None:
    ruleset, [status] = learn.with_classifiers(learning_rules(), labelled(4), {}, no_votes)
    assert ruleset.rules[0].classifier is None and not status.trained
    assert status.describe() == (
        "rule 'change': learn: not enough labels yet, 8 labelled documents its query matches "
        "(4 useful, 4 not useful); it "
        "needs 20 with at least 5 of each, so the query alone decides"
    )
    talk = document("q", "QUESTION: Will there be any sanctions relief?")
    assert [r.id for r in ruleset.matching_rules(talk)] == ["change"]


def test_one_class_only_is_not_enough() -> None:
    changes = [item for item in labelled(30) if item[1]]
    _, [status] = learn.with_classifiers(learning_rules(), changes, {}, no_votes)
    assert (
        not status.trained
        and "30 labelled documents its query matches (30 useful, 0 not useful)" in status.describe()
    )


@needs_sklearn
def test_the_classifier_turns_down_talk_the_query_lets_through() -> None:
    ruleset, [status] = learn.with_classifiers(learning_rules(), labelled(15), {}, no_votes)
    assert status.trained and status.labels == 30
    rule = ruleset.rules[0]
    assert rule.classifier is not None
    change = document("new-1", "Treasury today designated four entities under sanctions rules.")
    talk = document("new-2", "QUESTION: Would there be any sanctions relief if talks resume?")
    assert [r.id for r in ruleset.matching_rules(change)] == ["change"]
    assert ruleset.matching_rules(talk) == []
    assert rule.classifier.score(change) > 0.5 > rule.classifier.score(talk)
    # It only ever decides among the query's matches: without the word, nothing matches.
    assert ruleset.matching_rules(document("new-3", "Treasury designated four entities.")) == []


@needs_sklearn
def test_feedback_votes_are_labels_too() -> None:
    votes = {("change", f"vote-{n}"): n % 2 == 0 for n in range(12)}
    texts = {
        f"vote-{n}": (CHANGES if n % 2 == 0 else TALK)[n % 5].format(n=n + 40) for n in range(12)
    }

    def stored(doc_id: str) -> Document | None:
        return document(doc_id, texts[doc_id]) if doc_id in texts else None

    votes[("change", "pruned")] = True  # a document no longer stored cannot teach
    votes[("other-rule", "vote-1")] = True  # another rule's vote
    _, [status] = learn.with_classifiers(learning_rules(), labelled(5), votes, stored)
    assert status.trained and (status.labels, status.positives) == (22, 11)


@needs_sklearn
def test_models_are_trained_once_per_set_of_labels(monkeypatch: pytest.MonkeyPatch) -> None:
    fits = []
    real_fit = learn._fit
    monkeypatch.setattr(learn, "_cache", OrderedDict())
    monkeypatch.setattr(learn, "_fit", lambda examples: fits.append(1) or real_fit(examples))
    items = labelled(12)
    first, _ = learn.with_classifiers(learning_rules(), items, {}, no_votes)
    again, _ = learn.with_classifiers(learning_rules(), list(reversed(items)), {}, no_votes)
    assert len(fits) == 1 and first.rules[0].classifier is again.rules[0].classifier
    changed = [*items, (document("extra", CHANGES[0].format(n=99)), frozenset({"change"}))]
    learn.with_classifiers(learning_rules(), changed, {}, no_votes)
    assert len(fits) == 2


def rules_file(tmp_path: Path, body: str) -> LoadedYaml:
    path = tmp_path / "rules.yaml"
    path.write_text(body, encoding="utf-8")
    return load_yaml(path)


LEARNING_RULE = "rules:\n  - id: change\n    name: Change\n    query: sanction*\n    learn: true\n"


def test_learn_without_scikit_learn_is_a_config_error_naming_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(monitor.config, "sklearn_missing", lambda: True)
    with pytest.raises(ConfigError) as caught:
        parse_rules(rules_file(tmp_path, LEARNING_RULE))
    assert caught.value.messages == [
        f"{tmp_path}/rules.yaml:5: rule 'change': 'learn: true' needs scikit-learn, which is "
        "not installed: pip install -e '.[learn]' (or pip install 'monitor[learn]')"
    ]


def test_held_out_sets_are_never_tuning_sets(tmp_path: Path) -> None:
    sets = tmp_path / "sets"
    (sets / "real").mkdir(parents=True)
    for name in ("labelled.yaml", "heldout.yaml", "real/state.yaml", "real/heldout-blind.yaml"):
        (sets / name).write_text("[]\n", encoding="utf-8")
    ruleset = parse_rules(
        rules_file(tmp_path, "labelled: ['sets/*.yaml', 'sets/real/*.yaml']\n" + LEARNING_RULE)
    )
    assert [p.relative_to(sets).as_posix() for p in ruleset.labelled] == [
        "labelled.yaml",
        "real/state.yaml",
    ]
    assert [p.relative_to(sets).as_posix() for p in ruleset.heldout] == [
        "heldout.yaml",
        "real/heldout-blind.yaml",
    ]


def test_a_missing_labelled_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_rules(rules_file(tmp_path, "labelled: [nowhere.yaml]\n" + LEARNING_RULE))
    assert caught.value.messages == [
        f"{tmp_path}/rules.yaml:1: labelled set 'nowhere.yaml' not found ({tmp_path}/nowhere.yaml)"
    ]


def test_documents_the_query_does_not_match_are_not_examples() -> None:
    elsewhere = [
        (document(f"other-{n}", f"The talks resumed in round {n}."), frozenset()) for n in range(30)
    ]
    _, [status] = learn.with_classifiers(learning_rules(), labelled(4) + elsewhere, {}, no_votes)
    assert (status.labels, status.positives, status.trained) == (8, 4, False)


@needs_sklearn
def test_the_service_trains_at_start_and_retrains_on_a_reload_with_new_votes(
    tmp_path: Path,
) -> None:
    import asyncio

    import yaml

    from monitor.alerts.feedback import Vote
    from monitor.service import Service
    from tests.conftest import fast_settings

    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.yaml").write_text(
        "sources:\n  - {id: feed, type: rss, url: 'https://e.org/'}\n"
    )
    (config / "channels.yaml").write_text(
        "channels:\n  hook: {type: webhook, url: 'https://e.org/h'}\n"
    )
    items = [
        {"id": d.id, "title": d.title, "body": d.body, "expect": sorted(expect)}
        for d, expect in labelled(9)
    ]
    (config / "labelled.yaml").write_text(yaml.safe_dump(items))
    (config / "rules.yaml").write_text(
        "labelled: [labelled.yaml]\n" + LEARNING_RULE + "    notify: [hook]\n"
    )
    service = Service(fast_settings(tmp_path, config_dir=config))
    try:
        assert service.rules.rules[0].classifier is None  # 18 labels: the query decides
        now = datetime(2026, 12, 1, tzinfo=UTC)
        voted = [document(f"voted-{n}", TALK[n].format(n=n + 70)) for n in range(2)]
        service.store.record_poll("feed", voted, now=now)
        for n, doc in enumerate(voted):
            vote = Vote(str(n) * 40, "change", doc.id, "not_useful", "cli")
            service.store.feedback.record(vote, now)
        # A vote on a document no longer stored is not a label.
        service.store.feedback.record(Vote("j" * 40, "change", "gone", "useful", "cli"), now)
        (config / "rules.yaml").write_text(
            "labelled: [labelled.yaml]\n"
            + LEARNING_RULE
            + "    notify: [hook]\n    name: Changes\n"
        )
        asyncio.run(service.reload())
        rule = service.rules.rules[0]
        assert rule.name == "Changes" and rule.classifier is not None  # 18 + 2 votes = 20
        assert (rule.classifier.labels, rule.classifier.positives) == (20, 9)
    finally:
        service.store.close()
