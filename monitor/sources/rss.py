"""`type: rss`: RSS 0.9x/1.0/2.0, Atom and RDF feeds (and JSON Feed).

Feeds are read by the fast path (`feedxml`: lxml, feedparser's rules) and fall back to
feedparser itself for whatever the fast path declines (ill-formed XML, DOCTYPEs, guessed
encodings, unusual elements); both give the same entries (tests/sources/test_fast_feed.py).
"""

from __future__ import annotations

import calendar
import hashlib
import logging
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal
from urllib.parse import urljoin, urlsplit

import feedparser

from monitor.errors import ParseError
from monitor.models import RawItem
from monitor.normalize.dates import is_unambiguous, parse_date
from monitor.normalize.text import inline_text
from monitor.sources import feedxml, jsonfeed
from monitor.sources.base import Source, SourceOptions, register
from monitor.sources.feedxml import Feed, FeedEntry

log = logging.getLogger(__name__)

_HTML_SNIFF = (b"<!doctype html", b"<html")
# An internal DTD subset (`<!DOCTYPE rss [<!ENTITY a "…">]>`): feedparser hands plain
# internal entities to expat, which expands them — 2,000 references to one 50 KB entity
# turn a 60 KB feed into 100 MB of text. Feeds have no business declaring entities.
_INTERNAL_SUBSET = re.compile(rb"<!DOCTYPE[^\[>]*\[.*?\]\s*>", re.S | re.I)
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


def _without_internal_subset(content: bytes) -> bytes:
    start = content[:4096].upper().find(b"<!DOCTYPE")
    if start < 0 or re.search(rb"<[A-Za-z]", content[:start]):
        return content  # no DOCTYPE in the prolog
    match = _INTERNAL_SUBSET.match(content, start)
    return content[:start] + content[match.end() :] if match else content


def _web_link(link: str, base: str) -> str:
    """`link` if it is a web address (http or https), else "" (javascript:, data:, tag:…)."""
    if feedxml.is_plain_url(link):
        return link
    try:
        scheme = urlsplit(urljoin(base, link.strip())).scheme.lower()
    except ValueError:
        return link  # malformed: the pipeline reports it as an item error
    return link if scheme in ("http", "https") else ""


def _content(entry: Any) -> str:
    """The fullest HTML body an entry carries (WordPress puts it in content:encoded)."""
    bodies = [c.get("value", "") for c in entry.get("content", []) if c.get("value")]
    return max(bodies, key=len) if bodies else ""


def _authors(entry: Any) -> list[str]:
    return [a.get("name", "") for a in entry.get("authors", []) if a.get("name")]


def _entry(entry: Any) -> FeedEntry:
    """A feedparser entry as the fields we read of it."""
    return FeedEntry(
        title=entry.get("title") or "",  # feedparser gives None for an element it could not read
        link=entry.get("link") or "",
        guid=entry.get("id") or None,
        summary=entry.get("summary") or "",
        content=_content(entry),
        published=dict.get(entry, "published"),
        published_parsed=dict.get(entry, "published_parsed"),
        # dict.get: feedparser's own get() maps a missing `updated` to `published`.
        updated=dict.get(entry, "updated"),
        updated_parsed=dict.get(entry, "updated_parsed"),
        authors=_authors(entry),
        author=entry.get("author") or None,
        tags=[t.get("term") for t in entry.get("tags", []) if t.get("term")],
    )


def _looks_like_html(content: bytes) -> bool:
    head = content[:1024].lstrip().lower()
    return head.startswith(_HTML_SNIFF) or b"<html" in head[:300]


@register
class RssSource(Source):
    """A feed: each entry is one release."""

    type_name: ClassVar[str] = "rss"
    Options: ClassVar[type[SourceOptions]] = RssOptions

    def parse(self, content: bytes, url: str, content_type: str | None) -> list[RawItem]:
        options = self.options
        assert isinstance(options, RssOptions)
        if jsonfeed.looks_like_json(content):
            data = jsonfeed.load(content)
            if data is None:
                raise ParseError(
                    "expected a feed but got JSON that is not a JSON Feed "
                    f"(no 'version' starting with {jsonfeed.VERSION_PREFIX})"
                )
            return jsonfeed.parse_json_feed(
                data, url, kind_from_category=options.kind_from_category
            )
        try:
            feed = feedxml.parse(content, url, content_type)
        except feedxml.Declined as why:
            log.debug("feed %s: read by feedparser (%s)", url, why)
            feed = _parse_with_feedparser(content, url, content_type)
        except Exception as err:  # noqa: BLE001 - a fast-path bug must not cost the poll
            log.warning("feed %s: fast path failed (%s), read by feedparser", url, repr(err)[:200])
            feed = _parse_with_feedparser(content, url, content_type)
        return _items(feed, url, options)


def _parse_with_feedparser(content: bytes, url: str, content_type: str | None) -> Feed:
    """The slow, forgiving path: any feed feedparser reads, bozo or not."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    try:
        feed = feedparser.parse(
            _without_internal_subset(content),
            response_headers=headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as err:  # noqa: BLE001 - see below
        # feedparser's own bugs on hostile bytes (a bad BOM, a NUL in the XML declaration,
        # an unreadable <width>, a character reference past U+10FFFF): a broken feed,
        # not an internal error.
        raise ParseError(f"not a readable feed: {str(err)[:200]}") from None
    entries = feed.get("entries", [])
    if not entries:
        if _looks_like_html(content):
            raise ParseError("expected a feed but got an HTML page")
        # Without a Content-Type feedparser flags even a well-formed feed (bozo); such
        # complaints (ThingsNobodyCaresAboutButMe) do not make an empty feed an error.
        bozo = feed.get("bozo") and not isinstance(
            feed.get("bozo_exception"), feedparser.ThingsNobodyCaresAboutButMe
        )
        if bozo or not feed.get("version"):
            reason = feed.get("bozo_exception") or "no feed markup found"
            raise ParseError(f"not a readable feed: {str(reason).splitlines()[0][:200]}")
    channel = feed.get("feed", {})
    return Feed(
        entries=[_entry(e) for e in entries],
        link=channel.get("link") or "",
        language=channel.get("language") or None,
    )


def _words(text: str) -> str:
    """A feed's one-line value (author, category, language) as text: markup is not kept.

    Titles and bodies are HTML the normaliser turns into text; these fields are stored as
    given, so `<script>` or `<img onerror=…>` in them goes now (`AT&T`, `1 < 2` stay).
    """
    return inline_text(text) if "<" in text or "&" in text else text


def _names(names: list[str]) -> list[str]:
    return [name for name in (_words(n) for n in names) if name]


def _items(feed: Feed, url: str, options: RssOptions) -> list[RawItem]:
    """RawItems of a feed's entries, whichever parser read them (each entry dropped once used)."""
    language = _words(feed.language) or None if feed.language else None
    home = _web_link(feed.link, url) or url
    items: list[RawItem] = []
    entries = feed.entries
    entries.reverse()
    while entries:
        entry = entries.pop()
        guid = entry.guid
        link = _web_link(entry.link, url)
        if not link and guid and guid.startswith(("http://", "https://")):
            link = guid
        published = _aware(entry.published_parsed, entry.published)
        updated = _aware(entry.updated_parsed, entry.updated)
        if published is None:  # RSS 1.0 dc:date arrives as `updated`
            published, updated = updated, None
        if updated == published:
            updated = None
        tags = entry.tags
        anchor = None
        if not link:
            # No web address of its own: the release stands at the feed's home page,
            # told apart by its guid, else by its title and date (an RSS 0.9x item may
            # have neither: then by its text).
            # (The title-and-date form is unchanged, so stored entries keep their ids.)
            title = entry.title
            text = entry.summary or entry.content
            identity = guid or (
                f"{title}\x1f{published}" if title else f"\x1f{published}\x1f{text}"
            )
            anchor = "entry-" + hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]
        try:
            target = link or home
            address = target if feedxml.is_plain_url(target) else urljoin(url, target)
        except ValueError:  # a malformed link: the pipeline reports it as an item error
            address = link or home
        items.append(
            RawItem(
                url=address,
                title=entry.title,
                summary_html=entry.summary,
                content_html=entry.content,
                published=published,
                updated=updated,
                authors=_names(entry.authors or ([entry.author] if entry.author else [])),
                kind=_words(tags[0]) or None if options.kind_from_category and tags else None,
                language=language,
                guid=guid,
                anchor=anchor,
                standalone=anchor is not None,
            )
        )
    return items
