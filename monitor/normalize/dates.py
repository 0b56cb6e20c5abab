"""Dates as pages print them → aware UTC datetimes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from dateutil import parser as date_parser
from dateutil import tz

_EASTERN = ZoneInfo("America/New_York")
_CENTRAL = ZoneInfo("America/Chicago")
_MOUNTAIN = ZoneInfo("America/Denver")
_PACIFIC = ZoneInfo("America/Los_Angeles")
# Abbreviations that pages print; the US ones are fixed offsets (EST is -5 even in July).
TZ_ABBREVIATIONS: dict[str, tzinfo] = {
    "UTC": UTC,
    "GMT": UTC,
    "Z": UTC,
    "EST": tz.tzoffset("EST", -5 * 3600),
    "EDT": tz.tzoffset("EDT", -4 * 3600),
    "CST": tz.tzoffset("CST", -6 * 3600),
    "CDT": tz.tzoffset("CDT", -5 * 3600),
    "MST": tz.tzoffset("MST", -7 * 3600),
    "MDT": tz.tzoffset("MDT", -6 * 3600),
    "PST": tz.tzoffset("PST", -8 * 3600),
    "PDT": tz.tzoffset("PDT", -7 * 3600),
    "AKST": tz.tzoffset("AKST", -9 * 3600),
    "AKDT": tz.tzoffset("AKDT", -8 * 3600),
    "HST": tz.tzoffset("HST", -10 * 3600),
    "ET": _EASTERN,
    "CT": _CENTRAL,
    "MT": _MOUNTAIN,
    "PT": _PACIFIC,
    "KST": tz.tzoffset("KST", 9 * 3600),
    "JST": tz.tzoffset("JST", 9 * 3600),
    "BST": tz.tzoffset("BST", 3600),
    "CET": tz.tzoffset("CET", 3600),
    "CEST": tz.tzoffset("CEST", 2 * 3600),
}
_UPDATED = re.compile(r"\b(?:last\s+)?(?:updated|modified|revised)\b\s*(?:on|at)?\s*:?\s*", re.I)
_LEADING_LABEL = re.compile(r"^\s*(?:published|posted|released|date|dated|on)\s*:?\s*", re.I)
_OLDEST = datetime(1990, 1, 1, tzinfo=UTC)  # before the web, a printed year is a typo
# Years 1 and 9999 are datetime's ends: shown in a reader's zone (an email's
# MONITOR_TIMEZONE), such a date overflows. Nothing real is dated that far out.
_FIRST_SAFE_YEAR = 2
_LAST_SAFE_YEAR = 9000

# Text is read as a date only when it looks like one: a month name with a day or a year
# ("Nov 2", "Feb 2018", "20 November 2018"), or a numeric date ("11/20/2018",
# "2018-11-20", "12/2018"). dateutil's fuzzy mode alone reads "Media Note 2" as the 2nd.
_MONTH = re.compile(
    r"\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b",
    re.I,
)
_DAY_OR_YEAR = re.compile(r"(?<![\d:.])(?:[0-3]?\d(?:st|nd|rd|th)?|\d{4})(?![\d:])", re.I)
_NUMERIC_DATE = re.compile(
    r"(?<![\d.])(?:\d{4}[-/.]\d{1,2}(?:[-/.]\d{1,2})?|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"
    r"|\d{1,2}[-/]\d{4}|\d{8}(?=T|\b))(?![\d.]\d)"
)
# A whole date with its month named, and the time printed right after it if any:
# "June 25, 2024", "25 June 2024 at 5:30 PM EST".
_DATE_PHRASE = re.compile(
    r"(?:\b[a-z]{3,9}\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}|\b\d{1,2}(?:st|nd|rd|th)?\s+"
    r"[a-z]{3,9}\.?,?\s+\d{4})(?:,?\s+(?:at\s+)?\d{1,2}:\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?"
    r"(?:\s+[a-z]{2,5}\b)?)?",
    re.I,
)
# Chinese, Japanese and Korean pages print "2016年10月14日" / "2018년 11월 20일".
_CJK_DATE = re.compile(r"(\d{4})\s*[年년]\s*(\d{1,2})\s*[月월]\s*(\d{1,2})\s*[日일]")
# dateutil reads a printed year below 100 ("Sat, 01 Jan 0000") as this century's.
_TINY_YEAR = re.compile(r"(?<![\d:T+-])00\d\d(?![\d:])")  # not a +0000 offset
# Two leap years as defaults: a field dateutil fills from both differently was not printed.
_DEFAULTS = (datetime(2000, 1, 1), datetime(2004, 1, 1))
# A page in a zone ahead of ours may already print tomorrow's date.
_AHEAD = timedelta(days=1)


def to_utc(value: datetime, default_zone: str = "UTC") -> datetime:
    """An aware UTC datetime; a naive one is read in `default_zone`."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(default_zone))
    return value.astimezone(UTC)


def _safe_utc(value: datetime, default_zone: str) -> datetime | None:
    """`value` in UTC, or None if it lies too near datetime's ends to show in every zone."""
    try:
        result = to_utc(value, default_zone)
    except (OverflowError, ValueError):
        return None
    return result if _FIRST_SAFE_YEAR <= result.year <= _LAST_SAFE_YEAR else None


def looks_like_date(text: str) -> bool:
    """Whether `text` holds a numeric date, or a month name with a day or a year."""
    if _NUMERIC_DATE.search(text):
        return True
    month = _MONTH.search(text)
    return month is not None and _DAY_OR_YEAR.search(text) is not None


# A date printed year first ("2020/1/10") or with its month's name cannot swap day and month.
_YEAR_FIRST = re.compile(r"^\s*\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?!\d)")


def is_unambiguous(text: str) -> bool:
    """Whether a printed date reads one way only: year first, or its month named."""
    return bool(_YEAR_FIRST.match(text)) or _MONTH.search(text) is not None


def _zone(name: str | None, offset: int | None) -> tzinfo | None:
    """The zone of a printed abbreviation or offset; None (the source's zone) if unknown.

    As dateutil's `tzinfos` callable it is asked for every date, so an unknown name is
    neither a warning (dateutil: "will raise an exception" one day) nor the zone of
    the machine that happens to run the service.
    """
    if name and name.upper() in TZ_ABBREVIATIONS:
        return TZ_ABBREVIATIONS[name.upper()]
    if offset is not None:
        return UTC if offset == 0 else tz.tzoffset(name, offset)
    return None


def _dateutil(text: str, default: datetime) -> datetime:
    """dateutil's reading of `text`; fields the text does not give come from `default`."""
    return date_parser.parse(text, default=default, tzinfos=_zone, fuzzy=True)


def _latest_past(parsed: datetime, default_zone: str, now: datetime) -> datetime | None:
    """A date printed without its year, in the latest year that does not put it ahead of now."""
    zone = parsed.tzinfo or ZoneInfo(default_zone)
    this_year = now.astimezone(zone).year
    for year in range(this_year, this_year - 9, -1):  # February 29 recurs within 8 years
        try:
            candidate = _safe_utc(parsed.replace(year=year), default_zone)
        except ValueError:
            continue
        if candidate is not None and candidate <= now + _AHEAD:
            return candidate
    return None


def parse_date(
    text: str | datetime | None,
    default_zone: str = "UTC",
    *,
    now: datetime | None = None,
    oldest: datetime | None = None,
) -> datetime | None:
    """Parse one printed date ('11/20/2018 04:06 PM EST'); None if it is not a date.

    A date printed without a year ('December 30') is the latest one not after `now`
    (the time the page was fetched; the clock if not given). A printed date is kept only
    when plausible: not more than a day after `now` (a zone ahead of ours), and not
    before `oldest` (1 January 1990 unless a source says otherwise).
    """
    if text is None or isinstance(text, datetime):
        return _safe_utc(text, default_zone) if text else None
    text = _CJK_DATE.sub(r"\1-\2-\3 ", _LEADING_LABEL.sub("", text.strip())[:200])
    if not text or not looks_like_date(text) or _TINY_YEAR.search(text):
        return None
    now = now or datetime.now(UTC)
    first, second = _DEFAULTS
    try:
        parsed = _dateutil(text, first)
        yearless = parsed.year == first.year and _dateutil(text, second).year == second.year
    except (ValueError, OverflowError, TypeError):  # dateutil's ParserError is a ValueError
        # Other numbers around a date confuse dateutil ("June 25, 2024 5 min read"):
        # a full date phrase inside the text is still a clear date.
        phrase = _DATE_PHRASE.search(text)
        if phrase is None or phrase.group(0) == text:
            return None
        return parse_date(phrase.group(0), default_zone, now=now, oldest=oldest)
    result = (
        _latest_past(parsed, default_zone, now) if yearless else _safe_utc(parsed, default_zone)
    )
    if result is None or result > now + _AHEAD:
        return None
    if result < (oldest if oldest is not None else _OLDEST):
        return None
    return result


def parse_dates(
    text: str | datetime | None,
    default_zone: str = "UTC",
    *,
    now: datetime | None = None,
    oldest: datetime | None = None,
) -> tuple[datetime | None, datetime | None]:
    """Published and updated from one line ('February 12, 2018 Updated: February 17, 2018')."""
    if text is None or isinstance(text, datetime):
        return parse_date(text, default_zone, now=now, oldest=oldest), None
    parts = _UPDATED.split(text, maxsplit=1)
    first, rest = parts[0], (parts[1] if len(parts) > 1 else None)
    published = parse_date(first, default_zone, now=now, oldest=oldest) if first.strip() else None
    updated = parse_date(rest, default_zone, now=now, oldest=oldest) if rest else None
    return published, updated


def split_updated(text: str) -> tuple[str, str | None]:
    """('February 12, 2018', 'February 17, 2018') from '... Updated: February 17, 2018'."""
    parts = _UPDATED.split(text, maxsplit=1)
    return parts[0].strip(), (parts[1].strip() if len(parts) > 1 else None)
