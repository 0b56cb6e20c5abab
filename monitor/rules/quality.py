"""Precision and recall of rules on labelled documents (fixtures/rules/*.yaml).

Used by tests/rules/test_shipped_rules.py and bench/rules_quality.py. A labelled item is a
mapping with `id`, `title`, `body`, optional `source_id` and `kind`, and `expect`: the ids
of the rules that should match it (see fixtures/rules/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from monitor.errors import ConfigError
from monitor.models import Document
from monitor.rules.matcher import RuleSet

_FETCHED = datetime(2026, 11, 23, tzinfo=UTC)


@dataclass(frozen=True)
class Labelled:
    document: Document
    expect: frozenset[str]


@dataclass
class Score:
    """Counts of one rule on one set; precision/recall are 1.0 when undefined."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def load_labelled(path: Path) -> list[Labelled]:
    """The documents of a labelled set, with the rules each should match.

    A file that cannot be read as one raises ConfigError naming it.
    """
    try:
        items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        return _items(items)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: cannot read this labelled set: {err}") from None
    except (KeyError, TypeError, AttributeError, ValueError) as err:
        raise ConfigError(
            f"{path}: not a labelled set (a list of items with id, title, body and expect): {err}"
        ) from None


def _items(items: list[dict[str, Any]]) -> list[Labelled]:
    return [
        Labelled(
            Document(
                id=str(item["id"]),
                source_id=str(item.get("source_id", "test")),
                url="https://e.org/",
                title=str(item["title"]),
                body=str(item["body"]),
                kind=item.get("kind"),
                content_hash="x",
                fetched_at=_FETCHED,
            ),
            frozenset(item["expect"]),
        )
        for item in items
    ]


def score(ruleset: RuleSet, items: list[Labelled]) -> dict[str, Score]:
    """Per rule id: true positives, false positives and false negatives on `items`."""
    scores = {rule.id: Score() for rule in ruleset.rules}
    for item in items:
        got = {rule.id for rule in ruleset.matching_rules(item.document)}
        for rule_id, s in scores.items():
            s.tp += rule_id in got and rule_id in item.expect
            s.fp += rule_id in got and rule_id not in item.expect
            s.fn += rule_id in item.expect and rule_id not in got
    return scores


def errors(ruleset: RuleSet, items: list[Labelled], rule_id: str) -> list[tuple[str, str]]:
    """("false positive"|"false negative", document id) of one rule, for tuning."""
    out = []
    for item in items:
        got = any(r.id == rule_id for r in ruleset.matching_rules(item.document))
        if got != (rule_id in item.expect):
            out.append(("false positive" if got else "false negative", item.document.id))
    return out


@dataclass
class RuleScore(Score):
    """A Score with the documents rightly left alone, and the mistakes' documents."""

    tn: int = 0
    mistakes: list[tuple[str, Document]] | None = None

    def add(self, matched: bool, expected: bool, document: Document) -> None:
        self.tp += matched and expected
        self.fp += matched and not expected
        self.fn += expected and not matched
        self.tn += not matched and not expected
        if matched != expected:
            if self.mistakes is None:
                self.mistakes = []
            self.mistakes.append(("false positive" if matched else "false negative", document))

    @property
    def documents(self) -> int:
        return self.tp + self.fp + self.fn + self.tn


def score_rule(ruleset: RuleSet, rule_id: str, items: list[tuple[Document, bool]]) -> RuleScore:
    """One rule's counts on (document, should it match?) pairs."""
    result = RuleScore()
    for document, expected in items:
        matched = any(r.id == rule_id for r in ruleset.matching_rules(document))
        result.add(matched, expected, document)
    return result
