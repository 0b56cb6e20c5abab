"""Article pages without selectors: main content, title and date, on pages modelled on real ones.

Each page below reproduces a pattern that made the extractor pick the wrong thing on real
news pages (issue #9): a teaser <article> before the story, a <meta itemprop="articleBody">
summary, a story inside an element whose id names it "share", a title only in metadata,
free text where a date should be. The last tests measure the extractor on the Readability
test pages of the shared corpus and hold the figures reached, so they cannot regress.
"""

from __future__ import annotations

import json
import os
import statistics
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.extract import html_text, token_f1
from monitor.models import Document
from monitor.normalize import normalize
from monitor.normalize.dates import parse_date
from monitor.sources.article import extract_releases
from monitor.sources.base import ArticleSelectors

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
URL = "https://news.example.org/2018/11/20/sanctions-working-group.html"

STORY = [
    "The United States and the Republic of Korea met today in Washington for the first "
    "session of their new working group on North Korea policy, officials said.",
    "Special Representative Stephen Biegun led the American side, and the two delegations "
    "discussed denuclearization, sanctions implementation and humanitarian cooperation.",
    "The working group will meet regularly to coordinate diplomacy, the officials added, "
    "and its next session is expected early next year in Seoul after consultations.",
    "Both governments reaffirmed that sanctions remain in force until North Korea takes "
    "concrete steps, and that the door to dialogue stays open on every level of talks.",
]
TEASER = "United States to Lift Sudan Sanctions"
TEASER_TEXT = "For the first time since the 1990s, Sudan will be able to trade with America."


def _paragraphs(lines: list[str] = STORY) -> str:
    return "".join(f"<p>{line}</p>" for line in lines)


def _page(body: str, head: str = "", title: str = "Sanctions working group | Example News") -> str:
    return (
        f"<!doctype html><html lang='en'><head><title>{title}</title>{head}</head>"
        f"<body><header><a href='/'>Example News</a></header>{body}"
        "<footer><p>© Example News. All rights reserved.</p></footer></body></html>"
    )


def _doc(html: str | bytes, selectors: ArticleSelectors | None = None) -> Document:
    [raw] = extract_releases(html, URL, selectors or ArticleSelectors(), "text/html")
    return normalize(raw, source_id="news", fetched_at=NOW)


def test_teaser_article_before_the_story_is_not_taken_as_the_body() -> None:
    teaser = (
        f"<article class='card'><h2><a href='/sudan'>{TEASER}</a></h2>"
        f"<p>{TEASER_TEXT}</p></article>"
    )
    html = _page(
        f"{teaser}<article class='story'><h1>Working group meets</h1>{_paragraphs()}</article>"
    )
    doc = _doc(html)
    assert STORY[0] in doc.body and STORY[-1] in doc.body
    assert TEASER_TEXT not in doc.body
    assert doc.title != TEASER


def test_meta_article_body_is_not_the_body() -> None:
    head = "<meta itemprop='articleBody' content='Officials met in Washington.'>"
    html = _page(f"<div itemscope><div class='content'>{_paragraphs()}</div></div>", head)
    doc = _doc(html)
    assert STORY[0] in doc.body and STORY[-1] in doc.body


def test_story_inside_an_element_named_share_is_kept() -> None:
    html = _page(
        "<div id='article-share-wrap'><div class='share-bar'><a href='#'>Share on Facebook</a>"
        f"<a href='#'>Share on X</a></div>{_paragraphs()}</div>"
    )
    doc = _doc(html)
    assert STORY[0] in doc.body and STORY[-1] in doc.body
    assert "Share on Facebook" not in doc.body  # a real share bar is still furniture


def test_wordpress_share_and_related_posts_blocks_are_dropped() -> None:
    jetpack = (
        "<div class='sharedaddy sd-sharing-enabled'><h3>Share this:</h3><ul><li>"
        "<a href='#'>Twitter</a></li><li><a href='#'>Facebook</a></li></ul></div>"
        "<div id='jp-relatedposts' class='jp-relatedposts'><h3>Related</h3>"
        "<p class='jp-relatedposts-post-excerpt'>Minister visits Seoul for trade talks</p></div>"
    )
    html = _page(f"<div class='entry-content'>{_paragraphs()}{jetpack}</div>")
    doc = _doc(html)
    assert STORY[-1] in doc.body
    assert "Related" not in doc.body and "Minister visits Seoul" not in doc.body


def test_title_comes_from_open_graph_not_from_the_sites_h1() -> None:
    head = "<meta property='og:title' content='U.S.-ROK Working Group Meets in Washington'>"
    html = _page(f"<h1>Example News</h1><article>{_paragraphs()}</article>", head)
    assert _doc(html).title == "U.S.-ROK Working Group Meets in Washington"


def test_title_comes_from_json_ld_headline_first() -> None:
    ld = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "Organization", "name": "Example News"},
            {
                "@type": "NewsArticle",
                "headline": "Working Group Meets",
                "datePublished": "2018-11-20T16:06:00-05:00",
            },
        ],
    }
    head = (
        f"<script type='application/ld+json'>{json.dumps(ld)}</script>"
        "<meta property='og:title' content='Working Group Meets | Example News'>"
    )
    doc = _doc(_page(f"<article>{_paragraphs()}</article>", head))
    assert doc.title == "Working Group Meets"
    assert doc.published_at == datetime(2018, 11, 20, 21, 6, tzinfo=UTC)


def test_title_without_metadata_is_the_pages_own_title_without_the_site() -> None:
    doc = _doc(_page(f"<article>{_paragraphs()}</article>", title="Working group meets"))
    assert doc.title == "Working group meets"


def test_configured_selectors_come_first() -> None:
    html = _page(
        f"<h1 class='headline'>Chosen title</h1><div class='intro'><p>{STORY[0]}</p></div>"
        f"<div class='story'>{_paragraphs(STORY[1:])}</div>"
    )
    doc = _doc(html, ArticleSelectors(title=".headline", body=".intro"))
    assert doc.title == "Chosen title"
    assert doc.body == STORY[0]


def test_dropped_elements_stay_out_of_the_main_content() -> None:
    promo = "<p class='promo'>Subscribe today for full access to every story we publish.</p>"
    html = _page(f"<article>{_paragraphs(STORY[:2])}{promo}{_paragraphs(STORY[2:])}</article>")
    doc = _doc(html, ArticleSelectors(drop=[".promo"]))
    assert STORY[0] in doc.body and STORY[-1] in doc.body
    assert "Subscribe today" not in doc.body


def test_each_release_of_a_split_page_keeps_its_own_text_without_a_body_selector() -> None:
    html = _page(
        f"<section class='release'><h2>First</h2>{_paragraphs(STORY[:2])}</section>"
        f"<section class='release'><h2>Second</h2>{_paragraphs(STORY[2:])}</section>"
    )
    raws = extract_releases(html, URL, ArticleSelectors(release="section.release"), "text/html")
    first, second = (normalize(r, source_id="news", fetched_at=NOW) for r in raws)
    assert (first.title, second.title) == ("First", "Second")
    assert STORY[0] in first.body and STORY[2] not in first.body
    assert STORY[2] in second.body and STORY[0] not in second.body


def test_body_selector_that_matches_nothing_falls_back_to_the_main_content() -> None:
    doc = _doc(_page(f"<article>{_paragraphs()}</article>"), ArticleSelectors(body=".missing"))
    assert STORY[0] in doc.body and STORY[-1] in doc.body


def test_utf8_page_declaring_another_charset_still_gives_its_text() -> None:
    story = ["深度学习系统可以利用记忆自学，研究人员在一份科学刊物上发表了结果。" * 4] * 3
    head = "<meta http-equiv='Content-Type' content='text/html; charset=gb2312'>"
    html = _page(f"<article>{_paragraphs(story)}</article>", head).encode("utf-8")
    assert story[0] in _doc(html).body


def test_a_frameset_page_is_a_release_without_text_not_a_crash() -> None:
    html = (
        "<html><head><title>Archive</title></head><frameset><frame src='a.html'></frameset></html>"
    )
    doc = _doc(html)
    assert (doc.title, doc.body) == ("Archive", "")


# -- dates ---------------------------------------------------------------------------------


def test_free_text_in_a_time_element_is_skipped_for_the_next_one() -> None:
    html = _page(
        "<time class='relative'>Today 7:30AM</time><div class='posted'>Posted 3 hours ago</div>"
        f"<article><time datetime='2018-11-20T16:06:00-05:00'>Nov 20</time>{_paragraphs()}"
        "</article>"
    )
    assert _doc(html).published_at == datetime(2018, 11, 20, 21, 6, tzinfo=UTC)


def test_free_text_is_never_a_date() -> None:
    html = _page(
        "<span class='date'>► Clicker 1.1</span><span class='time'>Today 7:30AM</span>"
        f"<span class='posted'>Posted 3 hours ago</span><article>{_paragraphs()}</article>"
    )
    assert _doc(html).published_at is None


def test_a_date_phrase_after_free_text_is_found() -> None:
    html = _page(
        "<span class='time'>Today 7:30AM</span>"
        "<p class='dateline'>November 20, 2018 | Washington</p>"
        f"<article>{_paragraphs()}</article>"
    )
    assert _doc(html).published_at == datetime(2018, 11, 20, tzinfo=UTC)


def test_a_byline_with_a_date_and_a_reading_time_gives_the_date() -> None:
    html = _page(
        "<div class='post-date'>Published on: June 25, 2024 5 min read</div>"
        f"<article>{_paragraphs()}</article>"
    )
    assert _doc(html).published_at == datetime(2024, 6, 25, tzinfo=UTC)


def test_parsely_publication_date_is_a_date_field() -> None:
    head = "<meta name='parsely-pub-date' content='2024-04-20T04:20:00.000Z'>"
    html = _page(
        f"<span class='date'>Updated 5 minutes ago</span><article>{_paragraphs()}</article>", head
    )
    assert _doc(html).published_at == datetime(2024, 4, 20, 4, 20, tzinfo=UTC)


def test_implausible_dates_on_a_page_are_skipped() -> None:
    future = _page(  # a month after the page was fetched (NOW): a typo or an event date
        f"<time datetime='2026-12-25'>25 Dec 2026</time><article>{_paragraphs()}</article>"
    )
    ancient = _page(f"<span class='date'>June 3, 1921</span><article>{_paragraphs()}</article>")
    assert _doc(future).published_at is None
    assert _doc(ancient).published_at is None


# -- the shared corpus: Readability's test pages --------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("MONITOR_CORPUS") or ROOT.parent / "shared" / "corpus")
PAGES = CORPUS / "readability-test-pages"
PAGE_URL = "http://fakehost/test/page.html"  # the URL Readability's own tests use
# Reached on 2026-12-01 (bench/extract.py has the table): median 0.992, 91% of 65 pages
# ≥ 0.9, none at 0, titles 92%; before: 0.985, 66%, 2 at 0, titles 54%. Issue #9's
# targets: median ≥ 0.97, ≥ 90% ≥ 0.9, none at 0, titles ≥ 90%.
MEDIAN_FLOOR = 0.99
SHARE_FLOOR = 0.90
TITLE_FLOOR = 0.90
# Of the 17 pages whose expected metadata has a publishedTime, ours is the same instant on
# 15 (before: 10; 4 undated, among them "Today 7:30AM" taken and dropped). The other two
# are dated by a different field of the page (medium-3's article:published_time) or by
# a maintenance note's month (wikipedia-3).
DATE_FLOOR = 15 / 17


@pytest.mark.slow
@pytest.mark.skipif(not PAGES.is_dir(), reason=f"no shared corpus at {CORPUS} (set MONITOR_CORPUS)")
def test_readability_pages_body_title_and_date_floors() -> None:
    body_f1: dict[str, float] = {}
    title_f1: dict[str, float] = {}
    dates: dict[str, bool] = {}
    for folder in sorted(p for p in PAGES.iterdir() if (p / "source.html").is_file()):
        meta = json.loads((folder / "expected-metadata.json").read_text("utf-8"))
        expected = html_text((folder / "expected.html").read_text("utf-8"))
        [raw] = extract_releases(
            (folder / "source.html").read_bytes(), PAGE_URL, ArticleSelectors(), "text/html"
        )
        doc = normalize(raw, source_id="corpus", fetched_at=NOW)
        body_f1[folder.name] = token_f1(doc.body, expected)
        title_f1[folder.name] = token_f1(doc.title, meta.get("title") or "")
        if meta.get("publishedTime"):
            expected_date = parse_date(meta["publishedTime"], now=NOW)
            dates[folder.name] = expected_date is not None and doc.published_at == expected_date
    assert len(body_f1) >= 60
    scores = list(body_f1.values())
    share = sum(1 for v in scores if v >= 0.9) / len(scores)
    titles = sum(1 for v in title_f1.values() if v >= 0.8) / len(title_f1)
    worst = sorted(body_f1.items(), key=lambda kv: kv[1])[:5]
    assert statistics.median(scores) >= MEDIAN_FLOOR, worst
    assert share >= SHARE_FLOOR, worst
    assert [name for name, v in body_f1.items() if v == 0] == []
    assert titles >= TITLE_FLOOR, sorted(title_f1.items(), key=lambda kv: kv[1])[:8]
    assert sum(dates.values()) / len(dates) >= DATE_FLOOR, [n for n, ok in dates.items() if not ok]
