"""Feeds in every format feedparser reads, and the ones it cannot."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.errors import ParseError
from monitor.fixture_server import FixtureServer, Route
from monitor.sources.rss import RssOptions, RssSource
from monitor.store import Store
from tests.conftest import FIXTURES, fast_settings, poll


def _parse(path: str, content_type: str | None = None, **options: object):  # type: ignore[no-untyped-def]
    source = RssSource(RssOptions(id="t", type="rss", url="https://example.org/feed", **options))
    return source.parse((FIXTURES / path).read_bytes(), "https://example.org/feed", content_type)


def test_wordpress_feed_uses_full_content_encoded() -> None:
    items = _parse("state/press-releases.rss", kind_from_category=True)
    assert [i.title for i in items] == ["U.S.-ROK Working Group", "Remarks to the Press"]
    note = items[0]
    assert note.kind == "Media Note"
    assert note.published == datetime(2018, 11, 20, 21, 6, tzinfo=UTC)
    assert "Stephen Biegun" in note.content_html
    assert len(note.content_html) > 5 * len(note.summary_html)
    assert note.url.endswith("#media-note-u-s-rok-working-group")


def test_atom_feed() -> None:
    items = _parse("feeds/atom.xml")
    assert len(items) == 3
    assert all(isinstance(i.published, datetime) for i in items)
    assert all(i.url.startswith("http") and i.title and i.authors for i in items)


def test_rdf_feed() -> None:
    items = _parse("feeds/rdf.xml")
    assert len(items) == 3
    assert all(isinstance(i.published, datetime) for i in items)


def test_euc_kr_feed_is_decoded() -> None:
    items = _parse("feeds/euc-kr.xml", "application/rss+xml; charset=EUC-KR")
    assert items[0].title == "통일부, 남북 철도 연결 착공식 준비"


def test_recoverable_malformed_feed_still_yields_entries() -> None:
    items = _parse("feeds/malformed.xml")
    assert len(items) == 2
    assert any("&" in i.title for i in items)


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("feeds/broken.xml", "not a readable feed"),
        ("feeds/not-a-feed.html", "expected a feed but got an HTML page"),
    ],
)
def test_unreadable_feeds_are_parse_errors(path: str, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        _parse(path)


def test_empty_but_valid_feed_is_no_error() -> None:
    source = RssSource(RssOptions(id="t", type="rss", url="https://e.org/f"))
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
    assert source.parse(body, "https://e.org/f", "application/rss+xml") == []


def test_feed_author_that_is_an_office_becomes_the_office() -> None:
    from datetime import UTC, datetime

    from monitor.normalize import normalize

    note, remarks = _parse("state/press-releases.rss", kind_from_category=True)
    now = datetime(2026, 11, 23, tzinfo=UTC)
    doc = normalize(note, source_id="state", fetched_at=now)
    assert (doc.office, doc.authors) == ("Office of the Spokesperson", [])
    assert "&#8230;" not in doc.summary
    assert normalize(remarks, source_id="state", fetched_at=now).authors == ["Michael R. Pompeo"]


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


BAD_DATES = {
    "feeds/atom-bad-dates.xml": [
        ("good before", _utc("2018-11-20T21:06:00Z")),
        ("year 0", None),
        ("good published, updated in year 10000", _utc("2018-11-21T00:00:00Z")),
        ("last hour of 9999 west of UTC", None),
        ("last hour of 9999 east of UTC", None),
        ("good after", _utc("2018-11-22T10:00:00Z")),
    ],
    "feeds/rdf-bad-dates.xml": [
        ("good before", _utc("2018-11-20T09:30:00Z")),
        ("year 0", None),
        ("year 12345", None),
        ("last hour of 9999 west of UTC", None),
        ("good after", _utc("2018-11-22T10:00:00Z")),
    ],
    "feeds/rss-bad-dates.xml": [
        ("good before", _utc("2018-11-20T21:06:00Z")),
        ("last hour of 9999 west of UTC", None),
        ("year 0", None),
        ("good after", _utc("2018-11-22T10:00:00Z")),
    ],
}


@pytest.mark.parametrize("path", list(BAD_DATES))
def test_a_bad_date_costs_only_that_entry_its_date(path: str) -> None:
    from zoneinfo import ZoneInfo

    from monitor.normalize import normalize

    fetched = datetime(2026, 12, 1, tzinfo=UTC)
    documents = [normalize(i, source_id="t", fetched_at=fetched) for i in _parse(path)]
    assert [(d.title, d.published_at) for d in documents] == BAD_DATES[path]
    assert all(d.updated_at is None for d in documents)
    # Every date kept can be shown in any reader's zone (emails use MONITOR_TIMEZONE).
    for zone in ("Pacific/Kiritimati", "Etc/GMT+12"):
        for d in documents:
            if d.published_at is not None:
                d.published_at.astimezone(ZoneInfo(zone))


def test_a_feed_with_bad_dates_is_polled_and_every_entry_stored(
    tmp_path: Path, server: FixtureServer
) -> None:
    body = (FIXTURES / "feeds/atom-bad-dates.xml").read_bytes()
    server.routes["/bad-dates"] = Route(body=body, content_type="application/atom+xml")
    settings = fast_settings(tmp_path)
    source = RssOptions(id="bad-dates", type="rss", url=server.url("/bad-dates"))
    [result] = poll([source], Store.open(settings.database_url), settings)
    assert (result.status, result.error, result.item_errors) == ("ok", None, [])
    assert result.count("new") == 6


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("20181120T21:06:00Z", datetime(2018, 11, 20, 21, 6, tzinfo=UTC)),  # compact ISO
        ("20181120", datetime(2018, 11, 20, tzinfo=UTC)),
        ("1518478934", None),  # a Unix timestamp: feedparser alone reads 2015-07-03
        ("12345-06-07", None),  # feedparser alone reads 2012-12-10
    ],
)
def test_dates_feedparser_would_misread_are_no_dates(printed: str, expected: datetime) -> None:
    source = RssSource(RssOptions(id="t", type="rss", url="https://e.org/f"))
    body = (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        f'<entry><title>a</title><link href="https://e.org/a"/><updated>{printed}</updated>'
        "</entry></feed>"
    ).encode()
    [item] = source.parse(body, "https://e.org/f", "application/atom+xml")
    assert item.published == expected


@pytest.mark.parametrize(
    ("printed", "zone", "expected"),
    [
        # feedparser reads year/month/day with slashes as 2020-12-01: ours is unambiguous.
        ("2020/1/10 14:33:00", "UTC", datetime(2020, 1, 10, 14, 33, tzinfo=UTC)),
        ("2020/01/10", "UTC", datetime(2020, 1, 10, tzinfo=UTC)),
        # ... and read in the source's zone when it prints none, like every naive date.
        ("2020/1/10 14:33:00", "America/New_York", datetime(2020, 1, 10, 19, 33, tzinfo=UTC)),
        # Where both agree, feedparser's reading stands.
        ("Fri, 10 Jan 2020 14:33:00 GMT", "UTC", datetime(2020, 1, 10, 14, 33, tzinfo=UTC)),
        ("2020-01-10T14:33:00+09:00", "UTC", datetime(2020, 1, 10, 5, 33, tzinfo=UTC)),
    ],
)
def test_where_feedparser_and_our_parser_disagree_the_unambiguous_reading_wins(
    printed: str, zone: str, expected: datetime
) -> None:
    from monitor.normalize import normalize

    source = RssSource(RssOptions(id="t", type="rss", url="https://e.org/f", timezone=zone))
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><title>a</title>'
        f"<link>https://e.org/a</link><pubDate>{printed}</pubDate></item></channel></rss>"
    ).encode()
    [item] = source.parse(body, "https://e.org/f", "application/rss+xml")
    fetched = datetime(2026, 12, 1, tzinfo=UTC)
    doc = normalize(item, source_id="t", fetched_at=fetched, timezone=zone)
    assert doc.published_at == expected


def test_items_with_only_a_description_are_each_a_release() -> None:
    # RSS 0.92 items may carry nothing but a description: no title, link, guid or date.
    feed = (
        b"<?xml version='1.0'?><rss version='0.92'><channel><title>Notes</title>"
        b"<link>https://example.org/notes</link>"
        b"<item><description>Treasury designated three entities today.</description></item>"
        b"<item><description>The Secretary met the Foreign Minister.</description></item>"
        b"</channel></rss>"
    )
    source = RssSource(RssOptions(id="t", type="rss", url="https://example.org/feed"))
    items = source.parse(feed, "https://example.org/feed", None)
    assert len(items) == 2
    assert len({i.anchor for i in items}) == 2
    assert "designated" in items[0].summary_html
