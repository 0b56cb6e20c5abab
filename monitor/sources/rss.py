"""`type: rss`: RSS 0.9x/1.0/2.0, Atom and RDF feeds through feedparser."""

from __future__ import annotations

import calendar
import hashlib
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal
from urllib.parse import urljoin

import feedparser

from monitor.errors import ParseError
from monitor.models import RawItem
from monitor.normalize.dates import is_unambiguous, parse_date
from monitor.sources.base import Source, SourceOptions, register

_HTML_SNIFF = (b"<!doctype html", b"<html")
# feedparser reads a year of five digits or more as another date ("10000-01-01" → 2010),
# and a Unix timestamp as a year-month-day ("1518478934" → 2015-07-03).
_MISREAD = re.compile(r"\s*(?:[+-]?\d{5,}-|\d{9,}\s*$)")
# Two readings further apart than any zone offset disagree on the day itself.
_DISAGREE = timedelta(hours=14)
# Shapes feedparser reads right (RFC 822, W3C date-time): a second reading would only
# cost time (dateutil's fuzzy parse is most of a feed's parse time).
_NATIVE = re.compile(
    r"\s*(?:[a-z]{3,9},?\s+)?\d{1,2}\s+[a-z]{3,9}\.?\s+\d{2,4}\b|\s*\d{4}-\d{1,2}-\d{1,2}(?:[T\s]|$)",
    re.I,
)


class RssOptions(SourceOptions):
    """Options of a feed source."""

    type: Literal["rss"] = "rss"
    kind_from_category: bool = False


def _aware(parsed: time.struct_time | None, text: str | None) -> datetime | str | None:
    """An entry's date as feedparser read it (UTC), else its text for normalisation to try.

    A date out of datetime's range (year 0, beyond 9999) is a bad field: the entry keeps
    no date, and the feed's other entries are unaffected. Where feedparser and our parser
    read the day differently and ours cannot be wrong about day and month (feedparser
    reads "2020/1/10 14:33:00" as 2020-12-01), the text goes on to normalisation, which
    reads it in the source's zone.
    """
    if not parsed:
        return text or None
    if text and _MISREAD.match(text):
        return None
    try:
        # feedparser normalises every date it understands to UTC struct_time.
        theirs = datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    if text and not _NATIVE.match(text) and is_unambiguous(text):
        ours = parse_date(text)
        if ours is not None and abs(ours - theirs) > _DISAGREE:
            return text
    return theirs


def _content(entry: Any) -> str:
    """The fullest HTML body an entry carries (WordPress puts it in content:encoded)."""
    bodies = [c.get("value", "") for c in entry.get("content", []) if c.get("value")]
    return max(bodies, key=len) if bodies else ""


def _authors(entry: Any) -> list[str]:
    names = [a.get("name", "") for a in entry.get("authors", []) if a.get("name")]
    if not names and entry.get("author"):
        names = [entry["author"]]
    return names


def _looks_like_html(content: bytes) -> bool:
    head = content[:1024].lstrip().lower()
    return head.startswith(_HTML_SNIFF) or b"<html" in head[:300]


@register
class RssSource(Source):
    """A feed: each entry is one release."""

    type_name: ClassVar[str] = "rss"
    Options: ClassVar[type[SourceOptions]] = RssOptions

    def parse(self, content: bytes, url: str, content_type: str | None) -> list[RawItem]:
        headers = {"content-location": url}
        if content_type:
            headers["content-type"] = content_type
        feed = feedparser.parse(
            content, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
        )
        entries = feed.get("entries", [])
        if not entries:
            if _looks_like_html(content):
                raise ParseError("expected a feed but got an HTML page")
            if feed.get("bozo") or not feed.get("version"):
                reason = feed.get("bozo_exception") or "no feed markup found"
                raise ParseError(f"not a readable feed: {str(reason).splitlines()[0][:200]}")
            return []
        options = self.options
        assert isinstance(options, RssOptions)
        language = feed.get("feed", {}).get("language") or None
        home = feed.get("feed", {}).get("link") or url
        items: list[RawItem] = []
        for entry in entries:
            link = entry.get("link") or ""
            guid = entry.get("id") or None
            if not link and guid and guid.startswith(("http://", "https://")):
                link = guid
            published = _aware(dict.get(entry, "published_parsed"), dict.get(entry, "published"))
            # dict.get: feedparser's own get() maps a missing `updated` to `published`.
            updated = _aware(dict.get(entry, "updated_parsed"), dict.get(entry, "updated"))
            if published is None:  # RSS 1.0 dc:date arrives as `updated`
                published, updated = updated, None
            if updated == published:
                updated = None
            tags = [t.get("term") for t in entry.get("tags", []) if t.get("term")]
            anchor = None
            if not link:
                # No web address of its own: the release stands at the feed's home page,
                # told apart by its guid, else by its title and date, else (RSS 0.9x items
                # with a description only) by its text.
                identity = guid or f"{entry.get('title', '')}\x1f{published}"
                if not guid and not entry.get("title") and published is None:
                    identity = f"{entry.get('summary', '')}\x1f{_content(entry)}"
                anchor = "entry-" + hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]
            try:
                address = urljoin(url, link or home)
            except ValueError:  # a malformed link: the pipeline reports it as an item error
                address = link or home
            items.append(
                RawItem(
                    url=address,
                    title=entry.get("title", ""),
                    summary_html=entry.get("summary", ""),
                    content_html=_content(entry),
                    published=published,
                    updated=updated,
                    authors=_authors(entry),
                    kind=tags[0] if options.kind_from_category and tags else None,
                    language=language,
                    guid=guid,
                    anchor=anchor,
                    standalone=anchor is not None,
                )
            )
        return items
