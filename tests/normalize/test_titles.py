"""Titles are text: alerts and email subjects never show markup or entities."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from monitor.models import RawItem
from monitor.normalize import normalize
from monitor.sources.rss import RssOptions, RssSource
from tests.conftest import FIXTURES
from tests.corpus import corpus_dir, documents, parse_feed

_MARKUP = re.compile(r"<[a-zA-Z/][^>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")


def _title(raw_title: str) -> str:
    raw = RawItem(url="https://example.org/a", title=raw_title)
    return normalize(raw, source_id="t", fetched_at=datetime.now(UTC)).title


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("<b>Slack</b> Stock Has a Compelling Story", "Slack Stock Has a Compelling Story"),
        ("Secretary Blinken&#8217;s Call with", "Secretary Blinken’s Call with"),
        ("The 2<sup>nd</sup> U.S.-ROK summit", "The 2nd U.S.-ROK summit"),
        ("U.S. &amp; ROK hold talks", "U.S. & ROK hold talks"),
        ("AT&T and Verizon", "AT&T and Verizon"),
        ("Sentry Calming Collar for <i>dogs</i>", "Sentry Calming Collar for dogs"),
        ("Line<br/>break", "Line break"),
        ("1 < 2 and 3 > 2", "1 < 2 and 3 > 2"),
        # A script in a title is code, not words (feedparser's sanitize tests carry one).
        ("safe<script>location.href='http:/'+'/example.com/';</script> release", "safe release"),
        ("<style>b{color:red}</style>Styled title", "Styled title"),
    ],
)
def test_titles_are_normalised_as_text(raw: str, text: str) -> None:
    assert _title(raw) == text


def test_feed_titles_with_markup_become_text() -> None:
    source = RssSource(RssOptions(id="t", type="rss", url="https://example.org/feed"))
    raws = source.parse(
        (FIXTURES / "feeds/markup-titles.atom").read_bytes(), "https://example.org/feed", None
    )
    docs = [normalize(r, source_id="t", fetched_at=datetime.now(UTC)) for r in raws]
    assert [d.title for d in docs] == [
        "Treasury Announces New Sanctions on North Korean Shipping",
        "Seoul’s envoy: CO2 talks & the 2nd summit",
    ]


def test_no_corpus_title_keeps_markup_or_entities() -> None:
    root = corpus_dir()
    checked, dirty = 0, []
    for folder in ("feedjira-sample-feeds", "feed-rs-fixtures", "feedparser-tests/wellformed"):
        for path in sorted((root / folder).rglob("*")):
            if not path.is_file() or path.suffix not in {".xml", ".rss", ".atom", ".rdf"}:
                continue
            try:
                docs = documents(parse_feed(path))
            except Exception:  # noqa: BLE001 - unreadable feeds are another test's concern
                continue
            for doc in docs:
                checked += 1
                if _MARKUP.search(doc.title):
                    dirty.append(f"{path.relative_to(root)}: {doc.title[:80]}")
    assert checked > 700
    assert dirty == []
