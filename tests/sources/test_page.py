"""Listing pages and article pages, from the recorded fixtures."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.errors import ParseError
from monitor.models import Document
from monitor.normalize import normalize
from monitor.sources import build
from monitor.sources.article import extract_releases
from monitor.sources.base import ArticleSelectors
from monitor.sources.page import PageOptions
from tests.conftest import FIXTURES, shipped_sources

NOW = datetime(2026, 11, 23, tzinfo=UTC)
ARCHIVE_URL = "https://2017-2021.state.gov/briefings-statements/2018-11-20/"
PENCE_URL = (
    "https://www.theepochtimes.com/"
    "pence-us-and-south-korea-in-agreement-on-north-korea-diplomacy_2441222.html"
)


def _source(source_id: str) -> PageOptions:
    return next(s for s in shipped_sources() if s.id == source_id)  # type: ignore[return-value]


def _docs(path: str, url: str, source_id: str) -> list[Document]:
    options = _source(source_id)
    raws = extract_releases((FIXTURES / path).read_bytes(), url, options.article)
    return [
        normalize(r, source_id=source_id, fetched_at=NOW, timezone=options.timezone) for r in raws
    ]


def test_state_archive_page_holds_two_releases() -> None:
    docs = _docs("state/archive-2018-11-20.html", ARCHIVE_URL, "state-archive")
    assert len(docs) == 2
    note, remarks = docs
    assert (note.title, note.kind) == ("U.S.-ROK Working Group", "Media Note")
    assert note.office == "Office of the Spokesperson"
    assert note.location == "Washington, DC"
    assert note.published_at == datetime(2018, 11, 20, 21, 6, tzinfo=UTC)
    assert "Stephen Biegun" in note.body
    assert (remarks.title, remarks.kind) == ("Remarks to the Press", "Remarks")
    assert remarks.authors == ["Michael R. Pompeo"]
    assert remarks.location == "Press Briefing Room, Washington, DC"
    assert remarks.published_at == datetime(2018, 11, 20, 19, 52, tzinfo=UTC)
    assert note.id != remarks.id and note.url == remarks.url == ARCHIVE_URL
    assert "Share" not in note.body and "Media Note" not in note.body


def test_epoch_times_article_without_boilerplate() -> None:
    [doc] = _docs("news/epochtimes-pence-2018-02-12.html", PENCE_URL, "epochtimes-world")
    assert doc.title == "Pence: US and South Korea in Agreement on North Korea Diplomacy"
    assert doc.authors == ["Simon Veazey"]
    assert doc.updated_at is not None and doc.updated_at.date().isoformat() == "2018-02-17"
    assert doc.published_at is not None and doc.published_at.date().isoformat() == "2018-02-12"
    for line in (
        "Epoch Times Photo",
        "Getty Images",
        "Recommended Video",
        "Follow Simon on Twitter",
        "Share",
        "cookie",
        "Newsletter",
    ):
        assert line.lower() not in doc.body.lower(), line
    assert "new sanctions" in doc.body and "dropping sanctions" in doc.body
    assert doc.body.count("\n\n") >= 5  # paragraphs kept


def test_treasury_article_with_default_heuristics() -> None:
    [doc] = _docs(
        "treasury/sm0297.html",
        "https://home.treasury.gov/news/press-releases/sm0297",
        "treasury-press-releases",
    )
    assert doc.title.startswith("Treasury Announces Largest North Korean Sanctions Package")
    assert doc.published_at == datetime(2018, 2, 23, 17, 0, tzinfo=UTC)
    assert "Office of Foreign Assets Control" in doc.body
    assert "Skip to main content" not in doc.body


def test_listing_page_items_resolve_relative_links() -> None:
    options = _source("treasury-press-releases")
    items = build(options).parse(
        (FIXTURES / "treasury/press-releases.html").read_bytes(),
        "https://home.treasury.gov/news/press-releases",
        "text/html; charset=utf-8",
    )
    assert [i.url for i in items] == [
        "https://home.treasury.gov/news/press-releases/sm0297",
        "https://home.treasury.gov/news/press-releases/sm0286",
    ]
    assert items[0].published == "2018-02-23T17:00:00Z"


def test_listing_selector_that_matches_nothing_is_a_parse_error() -> None:
    options = _source("state-archive")
    with pytest.raises(ParseError, match="li.collection-result"):
        build(options).parse(b"<html><body><p>Redesigned!</p></body></html>", "https://x/", None)


def test_selectors_apply_inside_each_release_only() -> None:
    html = (
        "<article class=r id=a><h2>One</h2><p class=d>1/2/2020</p><div class=b>x</div>"
        "</article><article class=r id=b><h2>Two</h2><div class=b>y</div></article>"
    )
    raws = extract_releases(
        html, "https://e.org/p", ArticleSelectors(release="article.r", date=".d", body=".b")
    )
    assert [(r.title, r.anchor, r.published) for r in raws] == [
        ("One", "a", "1/2/2020"),
        ("Two", "b", None),
    ]


def test_releases_without_ids_are_anchored_by_title_and_date_not_position() -> None:
    def page(*releases: tuple[str, str]) -> str:
        return "".join(
            f"<article class='r'><h2>{title}</h2><p class='d'>{date}</p><p>Text.</p></article>"
            for title, date in releases
        )

    selectors = ArticleSelectors(release="article.r", date=".d")
    monday = ("Press Briefing", "November 19, 2018")
    tuesday = ("Press Briefing", "November 20, 2018")
    [alone] = extract_releases(page(monday), ARCHIVE_URL, selectors)
    first, second = extract_releases(page(tuesday, monday), ARCHIVE_URL, selectors)
    assert second.anchor == alone.anchor and first.anchor != alone.anchor
    twins = extract_releases(page(monday, monday), ARCHIVE_URL, selectors)
    assert len({r.anchor for r in twins}) == 2
