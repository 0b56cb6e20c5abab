"""`learn: true`: a small classifier decides among the documents a rule's query lets through.

It is trained on the rule's labelled documents that its query matches — the documents it
will decide on: staff feedback on its alerts (the store's `feedback` table) and the tuning
sets that rules.yaml's `labelled:` names — never a held-out set (`heldout*.yaml`).
Documents the query does not match are left out: trained on them, the model learns what
the topic looks like rather than which matches matter, and on the tuning set it turned
down 9 of 40 true matches (5-fold cross-validation on labelled.yaml).

The model: TF-IDF of words and word pairs plus character n-grams, then logistic
regression (scikit-learn, the optional `learn` extra), trained in about a second on
hundreds of documents, with nothing downloaded. Models are trained when the
config is loaded or reloaded and cached by a hash of their labels, never per document.

With too few labels (fewer than MIN_LABELS, or fewer than MIN_PER_CLASS of either class)
the rule has no classifier and its query alone decides, as without `learn`.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from monitor.models import Document
from monitor.rules.matcher import Rule, RuleSet

MIN_LABELS = 20
MIN_PER_CLASS = 5
THRESHOLD = 0.5
_MODEL = "tfidf-word12+char25-logreg-v1"  # part of the cache key: a new model retrains
_CACHE_SIZE = 32
_cache: OrderedDict[str, Classifier] = OrderedDict()
INSTALL_HINT = "pip install -e '.[learn]' (or pip install 'monitor[learn]')"


def sklearn_missing() -> bool:
    """Whether scikit-learn (the `learn` extra) is not installed."""
    return importlib.util.find_spec("sklearn") is None


def text_of(document: Document) -> str:
    """What the classifier reads: the title, then the body."""
    return f"{document.title}\n{document.body}"


@dataclass(frozen=True)
class Example:
    """One labelled document of a rule: should the rule alert on it?"""

    document: Document
    useful: bool


class Classifier:
    """A trained model: the probability that a document is one the rule should alert on."""

    def __init__(self, model: Any, labels: int, positives: int) -> None:
        self._model = model
        self.labels = labels
        self.positives = positives

    def score(self, document: Document) -> float:
        return float(self._model.predict_proba([text_of(document)])[0][1])

    def accepts(self, document: Document) -> bool:
        return self.score(document) >= THRESHOLD


def _fit(examples: list[Example]) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, make_pipeline

    features = FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)),
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2
                ),
            ),
        ]
    )
    model = make_pipeline(
        features, LogisticRegression(C=10.0, class_weight="balanced", max_iter=2000)
    )
    model.fit([text_of(e.document) for e in examples], [int(e.useful) for e in examples])
    return model


def _labels_hash(rule_id: str, examples: list[Example]) -> str:
    digest = hashlib.sha256(f"{_MODEL}\x1f{rule_id}".encode())
    for line in sorted(
        f"{int(e.useful)}{hashlib.sha256(text_of(e.document).encode()).hexdigest()}"
        for e in examples
    ):
        digest.update(line.encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class LearnStatus:
    """What `learn: true` did for one rule, for `monitor check` and `rules test`."""

    rule_id: str
    labels: int
    positives: int
    trained: bool

    def describe(self) -> str:
        counts = (
            f"{self.labels} labelled documents its query matches ({self.positives} useful, "
            f"{self.labels - self.positives} not useful)"
        )
        if self.trained:
            return (
                f"rule '{self.rule_id}': learn: a classifier trained on {counts} decides "
                "among its matches"
            )
        return (
            f"rule '{self.rule_id}': learn: not enough labels yet, {counts}; it needs "
            f"{MIN_LABELS} with at least {MIN_PER_CLASS} of each, so the query alone decides"
        )


def train(rule_id: str, examples: list[Example]) -> tuple[Classifier | None, LearnStatus]:
    """A classifier for a rule, or None (with the reason) when the labels are too few."""
    positives = sum(e.useful for e in examples)
    negatives = len(examples) - positives
    enough = len(examples) >= MIN_LABELS and min(positives, negatives) >= MIN_PER_CLASS
    status = LearnStatus(rule_id, len(examples), positives, enough)
    if not enough:
        return None, status
    key = _labels_hash(rule_id, examples)
    found = _cache.get(key)
    if found is None:
        found = Classifier(_fit(examples), len(examples), positives)
        _cache[key] = found
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    else:
        _cache.move_to_end(key)
    return found, status


# A labelled set: each document with the ids of the rules that should match it.
Labels = Iterable[tuple[Document, frozenset[str]]]
FeedbackLabels = dict[tuple[str, str], bool]  # (rule id, document id) → useful?


def examples_for(
    rule_id: str,
    labelled: Labels,
    feedback: FeedbackLabels,
    document: Callable[[str], Document | None],
) -> list[Example]:
    """A rule's examples: every document of the tuning sets (labelled for every rule), then
    the documents staff voted on in its alerts (their latest vote)."""
    out = [Example(doc, rule_id in expect) for doc, expect in labelled]
    for (voted_rule, document_id), useful in sorted(feedback.items()):
        if voted_rule == rule_id:
            found = document(document_id)
            if found is not None:  # a document no longer stored cannot teach
                out.append(Example(found, useful))
    return out


def with_classifiers(
    ruleset: RuleSet,
    labelled: Labels,
    feedback: FeedbackLabels,
    document: Callable[[str], Document | None],
) -> tuple[RuleSet, list[LearnStatus]]:
    """The rule set with a classifier on every `learn: true` rule that has enough labels
    among the documents its query matches (its filters aside)."""
    learning = [r for r in ruleset.rules if r.learn]
    if not learning:
        return ruleset, []
    items = list(labelled)
    statuses = []
    rules: list[Rule] = []
    for rule in ruleset.rules:
        if rule.learn:
            query = RuleSet([replace(rule, sources=(), kinds=(), classifier=None)], ruleset.lists)
            examples = [
                e
                for e in examples_for(rule.id, items, feedback, document)
                if query.matching_rules(e.document)
            ]
            classifier, status = train(rule.id, examples)
            statuses.append(status)
            rule = replace(rule, classifier=classifier)
        rules.append(rule)
    return ruleset.replaced(rules), statuses


class _Stored(Protocol):
    """What training needs of the store: the votes, and the documents they are about."""

    @property
    def feedback(self) -> Any: ...

    def document(self, doc_id: str, version: int | None = None) -> Document | None: ...


def learned(ruleset: RuleSet, store: _Stored | None) -> tuple[RuleSet, list[LearnStatus]]:
    """`with_classifiers` on the rule set's tuning sets and the store's feedback (if any)."""
    if not any(r.learn for r in ruleset.rules):
        return ruleset, []
    from monitor.rules.quality import load_labelled

    items = [(i.document, i.expect) for path in ruleset.labelled for i in load_labelled(path)]
    feedback: FeedbackLabels = store.feedback.labels() if store is not None else {}

    def document(doc_id: str) -> Document | None:
        return store.document(doc_id) if store is not None else None

    return with_classifiers(ruleset, items, feedback, document)
