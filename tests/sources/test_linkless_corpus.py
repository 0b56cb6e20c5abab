"""Entries without a web address are releases too (issue 9 point 4), measured on the corpus:
every such entry becomes its own document, at a web address or none, never a `urn:`/`tag:`."""

from __future__ import annotations

import warnings

import pytest

from monitor.normalize.urls import canonical_url
from monitor.pipeline import _entries
from tests.corpus import corpus_dir, documents, parse_feed, raw_feedparser

FEED_SUFFIXES = {".xml", ".rss", ".atom", ".rdf", ""}
# On the worker of tests/test_corpus.py, which parses the same files (tests/corpus.py).
pytestmark = pytest.mark.xdist_group("corpus")


@pytest.mark.slow
def test_corpus_entries_without_a_link_are_kept() -> None:
    root = corpus_dir()
    files = entries = stored = 0
    errors: list[str] = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or "readability-test-pages" in path.parts:
            continue
        if path.suffix not in FEED_SUFFIXES:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw = raw_feedparser(path)
        if not any(not e.get("link") for e in raw.entries):
            continue
        files += 1
        entries += len(raw.entries)
        found = _entries(parse_feed(path), errors)
        docs = documents([e.item for e in found])
        stored += len({d.id for d in docs})
        for doc in docs:
            assert doc.url.startswith(("http://", "https://")), (path, doc.url)
            assert canonical_url(doc.url)[0] == doc.url
    print(f"\nfeeds with link-less entries: {files}, entries {entries}, documents {stored}")
    assert files >= 300 and not errors
    # Entries that say nothing at all (no id, title, date or text: one file has two) are one
    # release; the rest are each their own document. Before RSS 0.9x items with only a
    # description were told apart, three of them collapsed into one (379 documents).
    assert stored >= entries - 1


def test_items_with_only_a_description_are_each_a_release() -> None:
    from tests.conftest import FIXTURES

    items = parse_feed(FIXTURES / "feeds/rss092-descriptions.xml")
    docs = documents(items)
    assert len({d.id for d in docs}) == 3
    assert {d.url for d in docs} == {"https://embassy.example.org/notices/"}
    assert docs[1].body == "Visa interviews resume on November 23 at 8:30 a.m."
