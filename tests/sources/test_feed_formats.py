"""Empty feeds are feeds with no items, and JSON Feed (jsonfeed.org) is a feed format."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import feedparser
import pytest

from monitor.documents_io import documents_from_file
from monitor.errors import ParseError
from monitor.sources.rss import RssOptions, RssSource
from tests.conftest import FIXTURES
from tests.corpus import corpus_dir, corpus_files, documents, parse_feed


def _source() -> RssSource:
    return RssSource(RssOptions(id="t", type="rss", url="https://example.org/feed"))


@pytest.mark.parametrize("content_type", [None, "application/rss+xml", "text/plain"])
def test_well_formed_empty_feed_has_zero_items(content_type: str | None) -> None:
    content = (FIXTURES / "feeds/empty.rss").read_bytes()
    assert _source().parse(content, "https://example.org/feed", content_type) == []


def test_empty_feed_file_is_tested_not_refused() -> None:
    assert documents_from_file(FIXTURES / "feeds/empty.rss") == []


def test_broken_feeds_are_still_refused_without_a_content_type() -> None:
    with pytest.raises(ParseError, match="not a readable feed"):
        _source().parse((FIXTURES / "feeds/broken.xml").read_bytes(), "https://e.org/f", None)


@pytest.mark.slow
def test_corpus_feeds_without_entries_are_empty_not_errors() -> None:
    """Every corpus feed feedparser reads as a known format without a markup error, but with
    no entries, is a feed with zero items (feedparser only complains of the missing header)."""
    root = corpus_dir()
    empty = []
    for path in sorted(root.rglob("*.xml")):
        if "readability" in path.parts[-3:]:
            continue
        raw = feedparser.parse(path.read_bytes(), response_headers={"content-location": "x"})
        benign = not raw.bozo or isinstance(
            raw.get("bozo_exception"), feedparser.ThingsNobodyCaresAboutButMe
        )
        if raw.entries or not raw.get("version") or not benign:
            continue
        empty.append(path)
        assert parse_feed(path) == [], path
    assert len(empty) > 100


def test_json_feed_fixture() -> None:
    content = (FIXTURES / "feeds/jsonfeed.json").read_bytes()
    items = _source().parse(content, "https://mofa.example.org/press/feed.json", None)
    assert [i.title for i in items] == [
        "Korea-U.S. Working Group Holds First Meeting",
        "Regular Press Briefing by the Spokesperson",
    ]
    first, second = items
    assert first.url == "https://mofa.example.org/press/2018/11/21/working-group?utm_source=feed"
    assert first.published == datetime(2018, 11, 21, 1, 0, tzinfo=UTC)
    assert first.updated == datetime(2018, 11, 21, 2, 30, tzinfo=UTC)
    assert first.authors == ["Office of the Spokesperson"]
    assert first.language == "en"
    # No web address of its own: kept, told apart by its id, at the feed's home page.
    assert second.url == "https://mofa.example.org/press/" and second.anchor
    assert second.authors == ["Noh Kyu-duk"]
    docs = documents(items)
    assert "implementation of UN sanctions" in docs[0].body
    assert docs[0].office == "Office of the Spokesperson"
    # content_text is text: its angle brackets are words, not markup.
    assert docs[1].body == (
        "The Spokesperson briefed the press on the Minister's travel.\n\n"
        "Questions were taken on the <joint> drills & exercises."
    )
    assert len({d.id for d in docs}) == 2


def test_json_feed_with_kind_from_category() -> None:
    source = RssSource(
        RssOptions(id="t", type="rss", url="https://e.org/f", kind_from_category=True)
    )
    items = source.parse((FIXTURES / "feeds/jsonfeed.json").read_bytes(), "https://e.org/f", None)
    assert [i.kind for i in items] == ["Press Release", None]


def test_json_feed_file_in_rules_test() -> None:
    docs = documents_from_file(FIXTURES / "feeds/jsonfeed.json")
    assert [d.title for d in docs][0] == "Korea-U.S. Working Group Holds First Meeting"


def test_empty_json_feed_and_non_feed_json() -> None:
    empty = json.dumps({"version": "https://jsonfeed.org/version/1", "title": "t", "items": []})
    assert _source().parse(empty.encode(), "https://e.org/f", "application/feed+json") == []
    with pytest.raises(ParseError, match="JSON Feed"):
        _source().parse(b'{"version": "https://jsonfeed.org/version/1.1", "items": 3}', "u", None)
    with pytest.raises(ParseError, match="JSON"):
        _source().parse(b'{"hello": "world"}', "https://e.org/f", "application/json")


def test_corpus_json_feeds_yield_every_item() -> None:
    files = [
        p
        for p in corpus_files("feed-rs-fixtures/jsonfeed", "*.json")
        + corpus_files("feedjira-sample-feeds", "*.json")
        if json.loads(p.read_bytes()).get("version", "").startswith("https://jsonfeed.org/version/")
    ]
    assert len(files) >= 4
    for path in files:
        expected = json.loads(path.read_bytes())["items"]
        docs = documents(parse_feed(path))
        assert len(docs) == len(expected), path
        assert all(d.title or d.body for d in docs), path
