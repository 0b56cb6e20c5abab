"""Searching stored documents with rules' queries, within a time budget: one function,
`search`, used by the documents page and "try a rule".

Documents are scanned newest first. A document is read (JSON decoded, tokenised, matched)
only if its stored text contains one of the words the query cannot match without
(`matcher.required_words`), checked as a substring of the folded raw text: most documents
are skipped at the cost of one `in`. When the budget runs out the search stops and says
how far it got. (A pre-filter index in the store can later replace the scan here.)
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Text, cast, select

from monitor.models import Document, Match
from monitor.rules.matcher import Rule, RuleSet, explain, required_words
from monitor.rules.tokens import fold
from monitor.store import Store
from monitor.store.browse import DocumentFilter, document_filter
from monitor.store.tables import document_versions, documents

BUDGET = 2.0  # seconds of work before a search stops and reports how far it got
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
    searched: int = 0
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


def _folded(raw: Any) -> tuple[str, dict[str, Any] | None]:
    """The folded text the pre-filter looks in, and the decoded JSON if it had to be."""
    if isinstance(raw, str) and "\\u" not in raw:
        return fold(raw).replace(".", ""), None  # ASCII JSON: words stand as they are
    data = json.loads(raw) if isinstance(raw, str) else raw
    text = " ".join([data.get("title", ""), data.get("body", ""), *data.get("authors", [])])
    return fold(text).replace(".", ""), data


def _rows(store: Store, filters: DocumentFilter) -> Iterator[Any]:
    """(stored JSON text, …) of the filtered documents' latest versions, newest first."""
    query = document_filter(
        select(cast(document_versions.c.data, Text).label("data")).join(
            documents,
            (document_versions.c.document_id == documents.c.id)
            & (document_versions.c.version == documents.c.version),
        ),
        filters,
    ).order_by(documents.c.published_at.desc())  # walks the index: no sort of the bodies
    with store.engine.connect() as conn:
        result = conn.execution_options(yield_per=BATCH).execute(query)
        for part in result.partitions():
            yield from part


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
    needs = [required_words(r) for r in rules]
    words = None if any(n is None for n in needs) else sorted(set().union(*needs))  # type: ignore[arg-type]
    for rule in rules:
        result.matched[rule.id] = []
    first = rules[0].id
    for count, row in enumerate(_rows(store, filters)):
        if count % 100 == 0 and clock() - started > budget:
            break
        result.searched += 1
        folded, data = _folded(row.data)
        if words is not None and not any(w in folded for w in words):
            continue
        if data is None:
            data = json.loads(row.data)
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
    result.elapsed = clock() - started
    return result
