"""Fuzzing: mutated fixtures and random text through the parsers, normaliser and query parser.

Short in CI (a few dozen examples each, no deadline: the machine is shared). The contract
each target keeps:
- RssSource.parse returns items or raises ParseError; every item it returns normalises.
- extract_releases returns items; every item normalises.
- normalize turns any RawItem into a Document (a bad field is a bad field, not a crash).
- canonical_url gives an http(s) URL back in canonical form (idempotent) or refuses the link
  with one of our errors.
- parse_query returns a query or raises QuerySyntaxError.
- any date text (saved crashes of the `date` kind) normalises in every zone.

Each crash found is saved under fixtures/fuzz/ (see its README) and replayed by
`test_saved_crash_stays_fixed`. A failing example is also written to
$TMPDIR/monitor-fuzz/ so it can be saved as a new fixture.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.config import load_config
from monitor.errors import MonitorError, ParseError
from monitor.models import Document, RawItem
from monitor.normalize import normalize
from monitor.normalize.urls import canonical_url
from monitor.rules.query import QuerySyntaxError, parse_query
from monitor.sources.article import extract_releases
from monitor.sources.base import ArticleSelectors
from monitor.sources.rss import RssOptions, RssSource
from tests.conftest import CONFIG, FIXTURES

FUZZ = FIXTURES / "fuzz"
FEEDS = sorted(
    [
        *(FIXTURES / "feeds").glob("*.xml"),
        FIXTURES / "state/press-releases.rss",
        FIXTURES / "news/yonhap-nk.rss",
        FIXTURES / "news/epochtimes-world.rss",
    ]
)
PAGES = sorted(
    [
        *(FIXTURES / "state").glob("*.html"),
        *(FIXTURES / "treasury").glob("*.html"),
        *(FIXTURES / "news").glob("*.html"),
    ]
)
FEED_URL = "https://www.state.gov/rss-feed/press-releases/feed/"
PAGE_URL = "https://2017-2021.state.gov/briefings-statements/2018-11-20/"
# Fragments that make markup and text interesting to a parser.
TOKENS = [
    b"<",
    b">",
    b"&",
    b"&amp;",
    b"&#0;",
    b"&#x110000;",
    b"&#99999999999;",
    b"&nbsp;",
    b"<![CDATA[",
    b"]]>",
    b"<!--",
    b"-->",
    b"<!DOCTYPE x [<!ENTITY e 'x'>]>",
    b"&e;",
    b"<item>",
    b"</item>",
    b"<entry>",
    b"<link>",
    b"</link>",
    b"<link href='//[::1'/>",
    b"<pubDate>Sat, 01 Jan 0000 00:00:00 +1400</pubDate>",
    b"<updated>9999-12-31T23:59:59-14:00</updated>",
    b"<dc:date>10000-01-01</dc:date>",
    b"<guid>",
    b"http://x:99999/",
    b"http://[::1/",
    b"javascript:",
    b"\x00",
    b"\xff\xfe",
    b"\xc3",
    b"\r\n",
    b"\xe2\x80\xa8",
    b'"',
    b"'",
    b"<script>",
    b"<div>" * 50,
    b"<article class='release' id=''>",
    b"<time datetime='0000-00-00'>",
    b"11/20/2018 04:06 PM EST",
    b"February 30, 2018",
]
FUZZ_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _archive_selectors() -> ArticleSelectors:
    for source in load_config(CONFIG).sources.sources:
        if source.article.release:
            return source.article
    return ArticleSelectors()  # pragma: no cover - the shipped config has one


ARCHIVE = _archive_selectors()


# -- mutation -------------------------------------------------------------------------------

Mutation = tuple[str, int, Any]

mutations: st.SearchStrategy[Mutation] = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 1 << 30), st.integers(0, 255)),
    st.tuples(
        st.just("insert"),
        st.integers(0, 1 << 30),
        st.one_of(st.sampled_from(TOKENS), st.binary(min_size=1, max_size=12)),
    ),
    st.tuples(st.just("delete"), st.integers(0, 1 << 30), st.integers(1, 200)),
    st.tuples(st.just("repeat"), st.integers(0, 1 << 30), st.integers(1, 300)),
    st.tuples(st.just("truncate"), st.integers(0, 1 << 30), st.none()),
)


def mutate(data: bytes, ops: list[Mutation]) -> bytes:
    """Apply byte-level mutations; positions wrap around the current length."""
    for kind, raw_pos, arg in ops:
        pos = raw_pos % (len(data) + 1)
        if kind == "flip" and data:
            pos %= len(data)
            data = data[:pos] + bytes([data[pos] ^ (arg or 1)]) + data[pos + 1 :]
        elif kind == "insert":
            data = data[:pos] + arg + data[pos:]
        elif kind == "delete":
            data = data[:pos] + data[pos + arg :]
        elif kind == "repeat":
            data = data[:pos] + data[pos : pos + arg] * 3 + data[pos + arg :]
        elif kind == "truncate":
            data = data[:pos]
    return data


def _keep_failure(target: str, data: bytes) -> Path:
    """Write a failing input where it can be copied into fixtures/fuzz/."""
    folder = Path(tempfile.gettempdir()) / "monitor-fuzz"
    folder.mkdir(exist_ok=True)
    path = folder / f"{target}-{hashlib.sha256(data).hexdigest()[:12]}"
    path.write_bytes(data)
    return path


def _normalize_all(raws: list[RawItem], zone: str = "UTC") -> list[Document]:
    """Each item normalises, or is refused with our ParseError (the pipeline then reports
    that one entry as an item error and stores the others)."""
    now = datetime(2026, 11, 1, tzinfo=UTC)
    docs = []
    for raw in raws:
        try:
            docs.append(normalize(raw, source_id="fuzz", fetched_at=now, timezone=zone))
        except ParseError:
            continue
    return docs


# -- the properties (also run on saved crashes) -----------------------------------------------


def check_feed(data: bytes) -> None:
    """RssSource.parse: items or ParseError; the items normalise."""
    source = RssSource(RssOptions(id="fuzz", url=FEED_URL))
    try:
        raws = source.parse(data, FEED_URL, "application/rss+xml")
    except ParseError:
        return
    assert isinstance(raws, list)
    _normalize_all(raws)


def check_page(data: bytes) -> None:
    """extract_releases, with and without release selectors: items that normalise."""
    for selectors in (ARCHIVE, ArticleSelectors()):
        raws = extract_releases(data, PAGE_URL, selectors, "text/html; charset=utf-8")
        _normalize_all(raws, "America/New_York")


def check_url(text: str) -> None:
    """canonical_url: refuses with our error, or gives a canonical form that is stable."""
    try:
        url, _ = canonical_url(text, base=PAGE_URL)
    except MonitorError:
        return
    if url.startswith(("http://", "https://")):
        assert canonical_url(url)[0] == url, url


ZONES = ["UTC", "America/New_York", "Asia/Seoul", "Pacific/Kiritimati"]


def check_date(text: str) -> None:
    """normalize with `text` as an entry's dates, in zones on both sides of UTC."""
    for zone in ZONES:
        _normalize_all([RawItem(url=PAGE_URL, title="t", published=text, updated=text)], zone)


def check_query(text: str) -> None:
    """parse_query: a query or QuerySyntaxError, nothing else."""
    try:
        parse_query(text)
    except QuerySyntaxError as err:
        assert str(err)  # the message renders (it carries a caret under the column)


def _guarded(target: str, check: Callable[[bytes], None], data: bytes) -> None:
    try:
        check(data)
    except Exception as err:
        path = _keep_failure(target, data)
        message = f"{target} crashed ({type(err).__name__}: {err}); input saved to {path}"
        raise AssertionError(message) from err


# -- fuzzers -----------------------------------------------------------------------------------


@FUZZ_SETTINGS
@given(st.sampled_from(FEEDS), st.lists(mutations, min_size=1, max_size=8))
def test_feed_parser_survives_mutated_feeds(path: Path, ops: list[Mutation]) -> None:
    _guarded("feed", check_feed, mutate(path.read_bytes(), ops))


@FUZZ_SETTINGS
@given(st.sampled_from(PAGES), st.lists(mutations, min_size=1, max_size=8))
def test_page_parser_survives_mutated_pages(path: Path, ops: list[Mutation]) -> None:
    _guarded("page", check_page, mutate(path.read_bytes(), ops))


dates = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.sampled_from(
        [
            "11/20/2018 04:06 PM EST",
            "December 30",
            "Media Note 2",
            "0000-01-01",
            "9999-12-31T23:59:59-14:00",
            "10000-01-01",
            "Sat, 01 Jan 0001 00:00:00 +1400",
            "Updated: February 29, 2019",
            "2018-13-45",
            "99999999999999999999",
            "-1",
        ]
    ),
    st.datetimes(timezones=st.just(UTC)),
)
urls = st.one_of(
    st.text(max_size=60),
    st.builds(
        lambda scheme, host, port, path, query: f"{scheme}{host}{port}{path}{query}",
        st.sampled_from(["http://", "https://", "HTTP://", "//", "", "javascript:", "ftp://"]),
        st.one_of(
            st.sampled_from(["www.state.gov", "[::1]", "[fe80::1%25eth0]", "xn--d1acj3b", ""]),
            st.text(max_size=12),
        ),
        st.sampled_from(["", ":80", ":443", ":0", ":65535", ":65536", ":99999", ":x", ":"]),
        st.text(max_size=20),
        st.sampled_from(["", "?utm_source=x", "?print", "?a=1&a=2", "?%zz", "#frag", "?q=\x00"]),
    ),
)


@FUZZ_SETTINGS
@given(
    st.builds(
        RawItem,
        url=urls,
        title=st.text(max_size=80),
        summary_html=st.text(max_size=200),
        content_html=st.one_of(st.text(max_size=200), st.sampled_from(["<p>a</p>" * 3, "<"])),
        published=dates,
        updated=dates,
        authors=st.lists(st.text(max_size=20), max_size=3),
        kind=st.one_of(st.none(), st.text(max_size=20)),
        office=st.one_of(st.none(), st.text(max_size=20)),
        location=st.one_of(st.none(), st.text(max_size=20)),
        language=st.one_of(st.none(), st.text(max_size=8)),
        guid=st.one_of(st.none(), st.text(max_size=20)),
        anchor=st.one_of(st.none(), st.text(max_size=20)),
    ),
    st.sampled_from(ZONES),
)
def test_normalize_turns_any_raw_item_into_a_document(raw: RawItem, zone: str) -> None:
    docs = _normalize_all([raw], zone)  # none: an item error, reported by the pipeline
    for doc in docs:
        assert doc.published_at is None or doc.published_at.tzinfo is not None


@FUZZ_SETTINGS
@given(urls)
def test_canonical_url_is_stable_or_refuses_cleanly(text: str) -> None:
    check_url(text)


query_parts = st.sampled_from(
    [
        "biegun",
        "sanction*",
        "s*",
        '"special representative"',
        '"',
        "AND",
        "OR",
        "NOT",
        "NEAR/3",
        "NEAR/0",
        "NEAR/99999999999999999999",
        "near",
        "nearby",
        "(",
        ")",
        "title:",
        "body:",
        "author:",
        "foo:",
        "@biegun",
        "@",
        "*",
        ":",
        "\n",
        "\x00",
        "é",
        "北",
    ]
)


@FUZZ_SETTINGS
@given(
    st.one_of(
        st.lists(query_parts, min_size=1, max_size=10).map(" ".join),
        st.lists(query_parts, min_size=1, max_size=10).map("".join),
        st.text(max_size=40),
    )
)
def test_query_parser_raises_only_query_syntax_errors(text: str) -> None:
    check_query(text)


# -- saved crashes -------------------------------------------------------------------------------

CHECKS: dict[str, Callable[[bytes], None]] = {
    "feed": check_feed,
    "page": check_page,
    "url": lambda data: check_url(data.decode("utf-8")),
    "query": lambda data: check_query(data.decode("utf-8")),
    "date": lambda data: check_date(data.decode("utf-8")),
}
# Saved crashes whose fix another change of issue 8 brings: file name → reason.
PENDING: dict[str, str] = {}  # saved inputs that still fail: name → reason


def _saved() -> list[Any]:
    cases = []
    for path in sorted(FUZZ.glob("*")):
        if path.name == "README.md":
            continue
        marks = (
            [pytest.mark.xfail(strict=False, reason=PENDING[path.name])]
            if path.name in PENDING
            else []
        )
        cases.append(pytest.param(path, id=path.name, marks=marks))
    return cases


@pytest.mark.parametrize("path", _saved())
def test_saved_crash_stays_fixed(path: Path) -> None:
    target = path.name.split("-", 1)[0]
    CHECKS[target](path.read_bytes())
