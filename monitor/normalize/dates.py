"""Dates as pages print them → aware UTC datetimes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
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
_MIN_YEAR = 1990


def to_utc(value: datetime, default_zone: str = "UTC") -> datetime:
    """An aware UTC datetime; a naive one is read in `default_zone`."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(default_zone))
    return value.astimezone(UTC)


def parse_date(text: str | datetime | None, default_zone: str = "UTC") -> datetime | None:
    """Parse one printed date ('11/20/2018 04:06 PM EST'); None if it is not a date."""
    if text is None or isinstance(text, datetime):
        return to_utc(text, default_zone) if text else None
    text = _LEADING_LABEL.sub("", text.strip())[:200]
    if not text or not any(ch.isdigit() for ch in text):
        return None
    try:
        parsed = date_parser.parse(text, tzinfos=TZ_ABBREVIATIONS, fuzzy=True)
    except (ValueError, OverflowError, TypeError):
        return None
    result = to_utc(parsed, default_zone)
    if result.year < _MIN_YEAR or result.year > datetime.now(UTC).year + 1:
        return None
    return result


def parse_dates(
    text: str | datetime | None, default_zone: str = "UTC"
) -> tuple[datetime | None, datetime | None]:
    """Published and updated from one line ('February 12, 2018 Updated: February 17, 2018')."""
    if text is None or isinstance(text, datetime):
        return parse_date(text, default_zone), None
    parts = _UPDATED.split(text, maxsplit=1)
    published = parse_date(parts[0], default_zone) if parts[0].strip() else None
    updated = parse_date(parts[1], default_zone) if len(parts) > 1 else None
    return published, updated


def split_updated(text: str) -> tuple[str, str | None]:
    """('February 12, 2018', 'February 17, 2018') from '... Updated: February 17, 2018'."""
    parts = _UPDATED.split(text, maxsplit=1)
    return parts[0].strip(), (parts[1].strip() if len(parts) > 1 else None)
