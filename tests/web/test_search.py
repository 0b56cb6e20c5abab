"""The search behind the documents page and "try a rule": the same matches as the matcher
run over every document, newest first, within its time budget."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.models import Document
from monitor.rules import Rule, RuleSet, parse_query
from monitor.store import Store
from monitor.store.browse import DocumentFilter
from monitor.web.search import search
from tests.rules.test_prefilter import LISTS, _documents
from tests.rules.test_prefilter import QUERIES as PREFILTER_QUERIES
from tests.web.data import NOW, doc, record

DOCS = [
    doc("a", "U.S.-ROK talks", "Special Representative Biegun met Lee Do-hoon."),
    doc("b", "Müller in Zürich", "Minister Müller spoke about Sanktionen and sanctions."),
    doc("c", "Quiet day", "Nothing was said about the embargo.", kind="Readout"),
    doc("d", "Naïve question", 'Q: "Will sanctions be lifted?" A: No comment.'),
    doc("e", "Envoys", "The envoys met.\n\nThey discussed sanctions relief at length."),
]
QUERIES = [
    "Biegun",
    "US AND ROK",
    '"U.S.-ROK"',
    "muller",
    "zurich OR embargo",
    "sanction*",
    "sanction* NEAR/3 lift*",
    "NOT sanction*",
    "embargo AND NOT said",
    "envoy*  /p relief",
    "title:naive",
    '"special representative" OR "lee do hoon"',
]


@pytest.fixture
def filled(store: Store) -> Store:
    for i, d in enumerate(DOCS):
        record(store, "state", [d.model_copy(update={"published_at": NOW - timedelta(i)})])
    return store


@pytest.mark.parametrize("query", QUERIES)
def test_finds_what_the_matcher_finds_in_every_document(filled: Store, query: str) -> None:
    rule = Rule(id="q", name="q", query=query, ast=parse_query(query))
    expected = [d.id for d in DOCS if RuleSet([rule]).match(d)]
    result = search(filled, [rule], DocumentFilter())
    assert [f.id for f in result.found("q")] == expected  # newest first = DOCS' order
    assert [h.document.id for h in result.hits] == expected
    assert result.complete and result.searched == len(DOCS)


def test_filters_and_pages(filled: Store) -> None:
    rule = Rule(id="q", name="q", query="NOT zzz", ast=parse_query("NOT zzz"))
    readouts = search(filled, [rule], DocumentFilter(kind="Readout"))
    assert [f.id for f in readouts.found("q")] == ["c"] and readouts.total == 1
    second = search(filled, [rule], DocumentFilter(), limit=2, offset=2)
    assert [h.document.id for h in second.hits] == ["c", "d"]
    assert len(second.found("q")) == 5


def test_stops_when_the_budget_is_spent_and_says_how_far_it_got(filled: Store) -> None:
    ticks = iter(range(1000))
    rule = Rule(id="q", name="q", query="NOT zzz", ast=parse_query("NOT zzz"))
    result = search(filled, [rule], DocumentFilter(), budget=0.5, clock=lambda: next(ticks))
    assert (result.searched, result.total, result.complete) == (0, 5, False)
    # A generous budget searches everything.
    assert search(filled, [rule], DocumentFilter(), budget=60).complete


# The word index as the search's pre-filter: the same matches, pages and order as matching
# every document, on the queries that trip indexes (tests/rules/test_prefilter.py).


@pytest.fixture
def many(store: Store) -> tuple[Store, list[Document]]:
    """300 documents of two sources, newest first, one of them edited after it was stored."""
    docs = [
        d.model_copy(update={"published_at": NOW - timedelta(hours=n)})
        for n, d in enumerate(_documents(300))
    ]
    store.record_poll("state", [d for d in docs if d.source_id == "state"], now=NOW)
    store.record_poll("treasury", [d for d in docs if d.source_id == "treasury"], now=NOW)
    docs[5] = docs[5].model_copy(
        update={"body": "Sanctions were lifted today.", "content_hash": "x"}
    )
    store.record_poll(docs[5].source_id, [docs[5]], now=NOW)
    return store, docs


def _rule(rule_id: str, query: str) -> Rule:
    return Rule(id=rule_id, name=rule_id, query=query, ast=parse_query(query, LISTS))


def test_the_word_index_changes_no_match_order_or_page(
    many: tuple[Store, list[Document]],
) -> None:
    store, docs = many
    wrong = []
    for query in PREFILTER_QUERIES:  # one store for all the queries: filling it is slow
        rule = _rule("q", query)
        expected = [d.id for d in docs if RuleSet([rule], LISTS).match(d)]
        result = search(store, [rule], DocumentFilter(), limit=7, offset=3, budget=60)
        found = [f.id for f in result.found("q")]
        if found != expected or [h.document.id for h in result.hits] != expected[3:10]:
            wrong.append(f"{query}: {found} != {expected}")
        treasury = search(store, [rule], DocumentFilter(source="treasury"), budget=60)
        if [f.id for f in treasury.found("q")] != [
            d.id for d in docs if d.source_id == "treasury" and d.id in expected
        ]:
            wrong.append(f"{query} in treasury")
        if not (result.complete and result.searched == len(docs)):
            wrong.append(f"{query}: searched {result.searched}")
    assert not wrong


def test_a_rare_word_reads_only_the_documents_that_hold_it(
    many: tuple[Store, list[Document]],
) -> None:
    store, docs = many
    result = search(store, [_rule("q", "today")], DocumentFilter())
    assert [f.id for f in result.found("q")] == [docs[5].id]  # the edit's new word
    assert (result.read, result.searched, result.complete) == (1, len(docs), True)
    # A query any document may match reads them all (what the raw text cannot rule out).
    assert search(store, [_rule("q", "NOT zzz")], DocumentFilter()).read == len(docs)


def test_compared_rules_match_as_each_would_alone(many: tuple[Store, list[Document]]) -> None:
    """Try a rule with an edited rule searches both at once: newly / no longer matched."""
    store, docs = many
    for pair in (("sanction*", "embargo PARA lifted"), ("envoy", "envoy AND NOT sanction*")):
        rules = [_rule("edited", pair[0]), _rule("base", pair[1])]
        result = search(store, rules, DocumentFilter(), budget=60)
        for rule in rules:
            expected = [d.id for d in docs if RuleSet([rule], LISTS).match(d)]
            assert [f.id for f in result.found(rule.id)] == expected, (pair, rule.id)


def test_a_word_in_most_documents_still_stops_at_the_budget(
    many: tuple[Store, list[Document]],
) -> None:
    store, docs = many
    ticks = iter(range(1000))
    result = search(
        store, [_rule("q", "the")], DocumentFilter(), budget=1.5, clock=lambda: next(ticks)
    )
    assert (result.searched, result.total, result.complete) == (100, len(docs), False)
