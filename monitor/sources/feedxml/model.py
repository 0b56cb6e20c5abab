"""What the fast path reads of a feed, and how it says it will not read one."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


class Declined(Exception):
    """The fast path does not read this feed as feedparser would: use feedparser."""


@dataclass(slots=True)
class FeedEntry:
    """One entry as `RssSource` reads it, from either parser."""

    title: str = ""
    link: str = ""
    guid: str | None = None
    summary: str = ""
    content: str = ""  # the longest content body
    published: str | None = None
    published_parsed: time.struct_time | None = None
    updated: str | None = None
    updated_parsed: time.struct_time | None = None
    authors: list[str] = field(default_factory=list)
    author: str | None = None  # feedparser's `author`, when no author has a name
    tags: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Feed:
    entries: list[FeedEntry]
    link: str
    language: str | None
