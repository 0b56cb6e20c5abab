from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.normalize.dates import parse_date, parse_dates

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
