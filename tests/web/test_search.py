"""The search behind the documents page and "try a rule": the same matches as the matcher
run over every document, newest first, within its time budget."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.rules import Rule, RuleSet, parse_query
from monitor.store import Store
from monitor.store.browse import DocumentFilter
from monitor.web.search import search
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
