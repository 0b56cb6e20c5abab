"""Searching stored documents with rules' queries, within a time budget: one function,
`search`, used by the documents page and "try a rule".

Documents are scanned newest first, and only those that may match are read (JSON decoded,
tokenised, matched):

- when every query needs some words (`rules.prefilter.required`), the store's word index
  (`store.textindex`) picks the documents that hold them, in the same SQL query as the scan:
  the others' text is not even fetched;
- otherwise (only NOT, a word too long for the index) each document's stored text is read
  as one folded string and each word of the query checked as a substring (`_possible`).

Either way the matcher decides, so the matches are those of matching every document. When
the budget runs out (a very common word, only NOT) the search stops and says how far it got.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Text, TextualSelect, case, cast, select

from monitor.models import Document, Match
from monitor.rules.matcher import Rule, RuleSet, explain
from monitor.rules.prefilter import AnyOf, Condition, required
from monitor.rules.query import And, Near, Node, Not, Or, Pattern, Within
from monitor.rules.tokens import fold
from monitor.store import Store
from monitor.store.browse import DocumentFilter, document_filter
from monitor.store.tables import document_versions, documents
from monitor.store.textindex import candidates

BUDGET = 5.0  # seconds of work before a search stops and reports how far it got
BATCH = 500


@dataclass(frozen=True)
class Found:
    """A matching document, as counts and comparisons need it."""

    id: str
    title: str
    source_id: str
    kind: str | None
    dated: datetime | None  # published, else first fetched


@dataclass(frozen=True)
class Hit:
    """A matching document with the first rule's match (snippet and highlights)."""

    document: Document
    match: Match


@dataclass
class SearchResult:
    total: int  # documents the filters allow
    searched: int = 0  # of those, newest first, how many were looked at
    read: int = 0  # of those, how many were read and matched (the others could not match)
    elapsed: float = 0.0
    matched: dict[str, list[Found]] = field(default_factory=dict)  # rule id → newest first
    hits: list[Hit] = field(default_factory=list)  # the first rule's, offset:offset+limit

    @property
    def complete(self) -> bool:
        return self.searched >= self.total

    def found(self, rule_id: str) -> list[Found]:
        return self.matched.get(rule_id, [])

    def by_source(self, rule_id: str) -> list[tuple[str, int]]:
        return Counter(f.source_id for f in self.found(rule_id)).most_common()

    def by_kind(self, rule_id: str) -> list[tuple[str, int]]:
        return Counter(f.kind or "(none)" for f in self.found(rule_id)).most_common()

    def by_week(self, rule_id: str) -> list[tuple[str, int]]:
        """(Monday of the ISO week, matches), newest week first; undated last."""
        weeks = Counter(_monday(f.dated) for f in self.found(rule_id))
        return sorted(weeks.items(), key=lambda kv: kv[0] or "", reverse=True)


def budget_of(state: Any) -> float:
    """The app's search budget: BUDGET unless a test or `bench/web.py` set
    `app.state.search_budget`."""
    return float(getattr(state, "search_budget", BUDGET))


def _monday(when: datetime | None) -> str:
    if when is None:
        return ""
    day = when.astimezone(UTC).date()
    return (day - timedelta(days=day.weekday())).isoformat()


def _possible(node: Node, folded: str) -> bool:
    """Could `node` match a text whose folded form is `folded`? Every word of a document
    (`tokens.words`) is a substring of its folded text, so False is certain; True only
    means "read it and match". A NOT proves nothing here (a substring is not a word)."""
    if isinstance(node, Pattern):
        return all(text in folded for text, _prefix in node.parts)
    if isinstance(node, Not):
        return True
    if isinstance(node, Near | Within):
        return _possible(node.left, folded) and _possible(node.right, folded)
    if isinstance(node, And):
        return all(_possible(child, folded) for child in node.children)
    assert isinstance(node, Or)
    return any(_possible(child, folded) for child in node.children)


def _folded(raw: Any) -> tuple[str, dict[str, Any] | None]:
    """The folded text the pre-filter looks in, and the decoded JSON if it had to be."""
    if isinstance(raw, str) and "\\u" not in raw:
        return fold(raw).replace(".", ""), None  # ASCII JSON: words stand as they are
    data = json.loads(raw) if isinstance(raw, str) else raw
    text = " ".join([data.get("title", ""), data.get("body", ""), *data.get("authors", [])])
    return fold(text).replace(".", ""), data


def _narrowed(store: Store, rules: Sequence[Rule]) -> TextualSelect | None:
    """The documents the word index says any of `rules` may match; None if it cannot say
    (a rule any document may match, or no index for these words)."""
    conditions: list[Condition] = []
    for rule in rules:
        condition = required(rule.ast)
        if condition is None:
            return None
        conditions.append(condition)
    either = conditions[0] if len(conditions) == 1 else AnyOf(tuple(dict.fromkeys(conditions)))
    return candidates(store.engine.dialect.name, either)


def _rows(
    store: Store, filters: DocumentFilter, narrowed: TextualSelect | None
) -> Generator[Any, None, None]:
    """(stored JSON text, …) of the filtered documents' latest versions, newest first; the
    text is None for a document outside `narrowed` (not fetched from the database)."""
    latest: Any = document_versions.join(
        documents,
        (document_versions.c.document_id == documents.c.id)
        & (document_versions.c.version == documents.c.version),
    )
    data: Any = cast(document_versions.c.data, Text)
    if narrowed is not None:  # a join, not IN: PostgreSQL may re-run an IN per row
        picked = narrowed.subquery("picked")
        latest = latest.outerjoin(picked, picked.c.document_id == documents.c.id)
        data = case((picked.c.document_id.is_not(None), data), else_=None)
    query = document_filter(select(data.label("data")).select_from(latest), filters)
    newest = documents.c.published_at.desc()
    if store.engine.dialect.name == "postgresql":  # SQLite puts NULLs last in DESC already
        newest = newest.nulls_last()
    query = query.order_by(newest)  # SQLite walks the index: no sort of the bodies
    with store.engine.connect() as conn:
        result = conn.execution_options(yield_per=BATCH).execute(query)
        try:
            for part in result.partitions():
                yield from part
        finally:
            result.close()  # a server-side cursor (PostgreSQL) is closed before its connection


def search(
    store: Store,
    rules: Sequence[Rule],
    filters: DocumentFilter,
    *,
    limit: int = 50,
    offset: int = 0,
    budget: float = BUDGET,
    clock: Callable[[], float] = time.perf_counter,
) -> SearchResult:
    """Which stored documents each of `rules` matches (queries and filters); the first
    rule's matches offset:offset+limit come with their snippets. Stops after `budget`
    seconds: `complete` is then False and `searched` says how far it got."""
    started = clock()
    result = SearchResult(total=store.browse.count_documents(filters))
    compiled = RuleSet(rules)
    for rule in rules:
        result.matched[rule.id] = []
    first = rules[0].id
    narrowed = _narrowed(store, rules)
    rows = _rows(store, filters, narrowed)
    for count, row in enumerate(rows):
        if count % 100 == 0 and clock() - started > budget:
            break
        result.searched += 1
        if narrowed is not None:
            if row.data is None:
                continue  # the index says it lacks the words every rule needs
            data = json.loads(row.data) if isinstance(row.data, str) else row.data
        else:
            folded, data = _folded(row.data)
            if not any(_possible(rule.ast, folded) for rule in rules):
                continue
            if data is None:
                data = json.loads(row.data)
        result.read += 1
        document = Document.model_validate(data)
        for rule in compiled.matching_rules(document):
            shown = result.matched[rule.id]
            if rule.id == first and offset <= len(shown) < offset + limit:
                result.hits.append(Hit(document, explain(rule, document)))
            shown.append(
                Found(
                    document.id,
                    document.title,
                    document.source_id,
                    document.kind,
                    document.published_at or document.fetched_at,
                )
            )
    rows.close()  # a search stopped early gives its connection back now
    result.elapsed = clock() - started
    return result
