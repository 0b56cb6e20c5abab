from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.models import RawItem
from monitor.normalize import normalize
from monitor.normalize.dates import parse_date, parse_dates

NOW = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)

CASES = [
    ("11/20/2018 04:06 PM EST", "UTC", "2018-11-20T21:06:00+00:00"),
    ("11/20/2018 02:52 PM EST", "UTC", "2018-11-20T19:52:00+00:00"),
    ("July 4, 2019 10:00 AM EDT", "UTC", "2019-07-04T14:00:00+00:00"),
    ("Tue, 20 Nov 2018 21:06:00 +0000", "UTC", "2018-11-20T21:06:00+00:00"),
    ("Wed, 21 Nov 2018 09:12:33 +0900", "UTC", "2018-11-21T00:12:33+00:00"),
    ("2018-11-21T10:00:00+09:00", "UTC", "2018-11-21T01:00:00+00:00"),
    ("2018-02-23T17:00:00Z", "UTC", "2018-02-23T17:00:00+00:00"),
    ("February 9, 2018", "America/New_York", "2018-02-09T05:00:00+00:00"),
    ("Posted: March 3, 2020 8:30 AM", "America/New_York", "2020-03-03T13:30:00+00:00"),
]


@pytest.mark.parametrize(("text", "zone", "expected"), CASES, ids=[c[0] for c in CASES])
def test_printed_dates_become_utc(text: str, zone: str, expected: str) -> None:
    assert parse_date(text, zone) == datetime.fromisoformat(expected)


@pytest.mark.parametrize("text", ["Media Note", "", "Office of the Spokesperson", "99/99/9999"])
def test_text_that_is_no_date_gives_none(text: str) -> None:
    assert parse_date(text) is None


def test_published_and_updated_on_one_line() -> None:
    published, updated = parse_dates(
        "February 12, 2018 Updated: February 17, 2018", "America/New_York"
    )
    assert published == datetime(2018, 2, 12, 5, 0, tzinfo=UTC)
    assert updated == datetime(2018, 2, 17, 5, 0, tzinfo=UTC)


def test_naive_datetime_is_read_in_the_source_zone() -> None:
    assert parse_date(datetime(2018, 11, 20, 16, 6), "America/New_York") == datetime(
        2018, 11, 20, 21, 6, tzinfo=UTC
    )


YEARLESS = [
    # A date printed without a year is the latest such date that is not in the future.
    ("December 30", "UTC", "2025-12-30T00:00:00+00:00"),
    ("November 30", "UTC", "2026-11-30T00:00:00+00:00"),
    ("Dec. 1, 10:00 AM", "America/New_York", "2026-12-01T15:00:00+00:00"),
    ("February 29", "UTC", "2024-02-29T00:00:00+00:00"),
    ("Nov 2", "UTC", "2026-11-02T00:00:00+00:00"),
    # Already December 2 in Seoul while it is December 1 in UTC: this year's.
    ("December 2", "Asia/Seoul", "2026-12-01T15:00:00+00:00"),
]


@pytest.mark.parametrize(("text", "zone", "expected"), YEARLESS, ids=[c[0] for c in YEARLESS])
def test_a_date_without_a_year_is_never_in_the_future(text: str, zone: str, expected: str) -> None:
    assert parse_date(text, zone, now=NOW) == datetime.fromisoformat(expected)


STILL_DATES = [
    ("Feb 2018", "2018-02-01T00:00:00+00:00"),
    ("12/2018", "2018-12-01T00:00:00+00:00"),
    ("2018.11.20", "2018-11-20T00:00:00+00:00"),
    ("20 November 2018", "2018-11-20T00:00:00+00:00"),
    ("Sept. 5, 2019", "2019-09-05T00:00:00+00:00"),
    ("Posted on 3rd March 2020", "2020-03-03T00:00:00+00:00"),
    ("20181120", "2018-11-20T00:00:00+00:00"),
    ("2016年10月14日07:17", "2016-10-14T07:17:00+00:00"),
    ("2018년 11월 20일", "2018-11-20T00:00:00+00:00"),
    # A date phrase among other numbers (real bylines, issue #9).
    ("Published on: June 25, 2024 5 min read", "2024-06-25T00:00:00+00:00"),
    ("By Jane Doe | 25 June 2024 at 5:30 PM EST | 3 min read", "2024-06-25T22:30:00+00:00"),
]


@pytest.mark.parametrize(("text", "expected"), STILL_DATES, ids=[c[0] for c in STILL_DATES])
def test_dates_in_other_shapes(text: str, expected: str) -> None:
    assert parse_date(text) == datetime.fromisoformat(expected)


STRAY_WORDS = [
    "Media Note 2",
    "Remarks 12",
    "Press Release 5",
    "1 min read",
    "Posted 3 days ago",
    "Vol. 12 No. 3",
    "Photo 1 of 5",
    "Note 2018",
    "2018",
    "March",
    "Monday 10:00",
    "Today 7:30AM",  # real pages' free text next to where a date should be (issue #9)
    "► Clicker 1.1",
    "Posted 3 hours ago",
]


@pytest.mark.parametrize("text", STRAY_WORDS)
def test_words_with_numbers_are_no_dates(text: str) -> None:
    """Only text with a month name or a numeric date, and a day or a year, is a date."""
    assert parse_date(text) is None


OUT_OF_RANGE = [
    "9999-12-31T23:00:00-05:00",  # year 10000 in UTC
    "9999-12-31T23:00:00+09:00",  # year 10000 in any zone east of UTC
    "Fri, 31 Dec 9999 23:00:00 -0500",
    "0001-01-01T00:00:00+05:00",  # year 0 in UTC
    "10000-01-01T00:00:00Z",
    "0000-01-01",
    "Sat, 01 Jan 0000 00:00:00 GMT",  # dateutil alone reads it as 2000
    "Jan 1 0099",
]


@pytest.mark.parametrize("text", OUT_OF_RANGE)
def test_dates_at_the_ends_of_the_calendar_are_no_dates(text: str) -> None:
    assert parse_date(text) is None


@pytest.mark.parametrize(
    ("value", "zone"),
    [
        (datetime(9999, 12, 31, 18, tzinfo=UTC), "UTC"),
        (datetime(9999, 12, 31, 23), "America/New_York"),  # naive: overflows on conversion
        (datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))), "UTC"),
        (datetime(1, 1, 1, tzinfo=UTC), "UTC"),
        (datetime(1, 1, 1), "Asia/Seoul"),
    ],
)
def test_structured_dates_at_the_ends_of_the_calendar_are_dropped(
    value: datetime, zone: str
) -> None:
    assert parse_date(value, zone) is None


ZONES = st.sampled_from(["UTC", "America/New_York", "Asia/Seoul", "Pacific/Kiritimati"])


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes() | st.datetimes(timezones=st.timezones()) | st.text(max_size=60),
    ZONES,
)
def test_any_date_kept_can_be_shown_in_any_zone(value: datetime | str, zone: str) -> None:
    result = parse_date(value, zone)
    if result is not None:
        for reader in ("Pacific/Kiritimati", "Etc/GMT+12"):
            result.astimezone(ZoneInfo(reader))


def test_normalize_reads_a_yearless_date_as_of_when_the_page_was_fetched() -> None:
    raw = RawItem(url="https://e.org/a", title="Year-end note", published="December 30")
    document = normalize(raw, source_id="t", fetched_at=NOW)
    assert document.published_at == datetime(2025, 12, 30, tzinfo=UTC)


def test_an_unknown_zone_abbreviation_is_read_in_the_source_zone() -> None:
    """dateutil warns (and says it will one day raise) on names it does not know."""
    assert parse_date("20 Nov 2018 10:00 XYZ", "America/New_York") == datetime(
        2018, 11, 20, 15, 0, tzinfo=UTC
    )


def test_a_printed_date_more_than_a_day_ahead_of_the_fetch_is_no_date() -> None:
    """A page in a zone ahead of ours may print tomorrow; a month ahead is a typo or an event."""
    assert parse_date("December 2, 2026 9:00 AM", now=NOW) == datetime(2026, 12, 2, 9, tzinfo=UTC)
    assert parse_date("December 25, 2026", now=NOW) is None
    assert parse_date("2027-03-01T10:00:00Z", now=NOW) is None


def test_dates_before_1990_are_typos_unless_the_source_reaches_back() -> None:
    assert parse_date("June 3, 1921", now=NOW) is None
    assert parse_date("December 31, 1989", now=NOW) is None
    assert parse_date("January 1, 1990", now=NOW) == datetime(1990, 1, 1, tzinfo=UTC)
    oldest = datetime(1900, 1, 1, tzinfo=UTC)
    assert parse_date("June 3, 1921", now=NOW, oldest=oldest) == datetime(1921, 6, 3, tzinfo=UTC)
    recent = datetime(2015, 1, 1, tzinfo=UTC)
    assert parse_date("June 3, 2014", now=NOW, oldest=recent) is None


def test_a_sources_oldest_date_reaches_normalize_through_its_options() -> None:
    from monitor.sources.page import PageOptions

    options = PageOptions(id="archive", url="https://example.org/", oldest_date="1945-01-01")
    raw = RawItem(url="https://example.org/a", title="Charter", published="June 26, 1945")
    doc = normalize(raw, source_id="archive", fetched_at=NOW, oldest=options.oldest_datetime)
    assert doc.published_at == datetime(1945, 6, 26, tzinfo=UTC)
    assert normalize(raw, source_id="archive", fetched_at=NOW).published_at is None
