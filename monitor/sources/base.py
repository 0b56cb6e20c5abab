"""The Source interface, the options every source shares, and the type registry.

A Source turns one fetched response (a feed, a listing page) into RawItems. It does no
I/O: fetching, following links and storing are the pipeline's job, so a source is a pure
function of its options and the bytes it is given, and runs in a worker process if needed.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from monitor.models import RawItem

_INTERVAL = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_INTERVAL_SECONDS = 10


def parse_interval(text: str) -> int:
    """'10m' → 600 seconds; raises ValueError with the accepted forms."""
    match = _INTERVAL.match(text)
    if not match:
        raise ValueError(f"'{text}' is not an interval; use 10s, 10m, 1h or 1d")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds < MIN_INTERVAL_SECONDS:
        raise ValueError(f"'{text}' is below the floor of {MIN_INTERVAL_SECONDS}s")
    return seconds


def parse_age(text: str) -> int:
    """'2d' → 172800 seconds (no floor: '0s' is allowed); raises ValueError."""
    match = _INTERVAL.match(text)
    if not match:
        raise ValueError(f"'{text}' is not an age; use e.g. 12h, 2d or 0s")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


class ArticleSelectors(BaseModel):
    """CSS selectors for an article page; anything unset falls back to page heuristics.

    `release` splits a page that prints several releases: each element it matches is one
    release, and the other selectors are applied inside it.
    """

    model_config = ConfigDict(extra="forbid")

    release: str | None = None
    title: str | None = None
    body: str | None = None
    date: str | None = None
    kind: str | None = None
    office: str | None = None
    location: str | None = None
    speakers: str | None = None
    drop: list[str] = Field(default_factory=list)


class KindRule(BaseModel):
    """One line of a source's `kinds:` mapping: a title and/or URL pattern → a kind.

    For feeds that never say what a release is (state.gov's categories are empty): the
    first rule whose patterns all match (regular expressions, searched anywhere, any case)
    names the kind. A kind the feed or the article page states wins over the mapping.
    """

    model_config = ConfigDict(extra="forbid")

    title: str | None = None
    url: str | None = None
    kind: str = Field(min_length=1)

    @field_validator("title", "url")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as err:
                raise ValueError(f"'{value}' is not a valid pattern: {err}") from None
        return value

    @model_validator(mode="after")
    def _something_to_match(self) -> KindRule:
        if self.title is None and self.url is None:
            raise ValueError(f"kind '{self.kind}': give a 'title' or 'url' pattern (or both)")
        return self

    def matches(self, title: str, url: str) -> bool:
        return all(
            re.search(pattern, text, re.IGNORECASE) is not None
            for pattern, text in ((self.title, title), (self.url, url))
            if pattern is not None
        )


class SourceOptions(BaseModel):
    """Options shared by every source type."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    type: str
    name: str | None = None
    url: str
    every: str | None = None
    cron: str | None = None
    follow_links: bool = False
    article: ArticleSelectors = Field(default_factory=ArticleSelectors)
    timezone: str = "UTC"
    # Printed dates before this are read as typos (default 1990-01-01): set it for an
    # archive that really publishes older releases.
    oldest_date: date | None = None
    kind: str | None = None
    kinds: list[KindRule] = Field(default_factory=list)
    # The first poll of a new source is a baseline: what the feed already holds is stored
    # without alerting, except items published within this age.
    alert_max_age: str = "2d"
    max_follow: int = Field(default=50, ge=1)
    # Links and redirects found in fetched content may reach private, loopback and
    # link-local addresses only when this is set (an intranet source); `url` always may.
    allow_private: bool = False
    # Response size cap for this source's own URL (None: MONITOR_FETCH_MAX_BYTES).
    max_bytes: int | None = Field(default=None, ge=1)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"'{value}' is not an http(s) URL")
        return value

    @field_validator("every")
    @classmethod
    def _interval(cls, value: str | None) -> str | None:
        if value is not None:
            parse_interval(value)
        return value

    @field_validator("alert_max_age")
    @classmethod
    def _age(cls, value: str) -> str:
        parse_age(value)
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            from apscheduler.triggers.cron import CronTrigger

            try:
                CronTrigger.from_crontab(value)
            except ValueError as err:
                raise ValueError(f"cron '{value}' is invalid: {err}") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}'") from None
        return value

    @model_validator(mode="after")
    def _one_schedule(self) -> SourceOptions:
        if self.every and self.cron:
            raise ValueError("give either 'every' or 'cron', not both")
        if not self.every and not self.cron:
            self.every = "10m"
        return self

    @property
    def interval_seconds(self) -> int | None:
        return parse_interval(self.every) if self.every else None

    @property
    def alert_max_age_seconds(self) -> int:
        return parse_age(self.alert_max_age)

    @property
    def oldest_datetime(self) -> datetime | None:
        """`oldest_date` as the first instant of that day (UTC), for date parsing."""
        if self.oldest_date is None:
            return None
        return datetime(
            self.oldest_date.year, self.oldest_date.month, self.oldest_date.day, tzinfo=UTC
        )

    @property
    def display_name(self) -> str:
        return self.name or self.id


class Source(ABC):
    """A kind of source: parses one response into raw items."""

    type_name: ClassVar[str]
    Options: ClassVar[type[SourceOptions]]

    def __init__(self, options: SourceOptions) -> None:
        self.options = options

    @abstractmethod
    def parse(self, content: bytes, url: str, content_type: str | None) -> list[RawItem]:
        """Turn the response body into items; raise ParseError if it holds none at all."""


@dataclass
class Snapshot:
    """A whole list as a SnapshotSource read it, against the snapshot the store knew.

    `fingerprints` has every entry of the list (key → fingerprint); `data` what is to be
    stored of the entries that are new or changed (JSON), so that a later change can say
    what the entry was; `errors` the entries that could not be read (item errors).
    """

    fingerprints: dict[str, str]
    data: dict[str, dict[str, Any]]
    published: datetime | None = None
    errors: list[str] = field(default_factory=list)


class SnapshotSource(Source):
    """A source whose response is a whole list (a sanctions list): its news is what changed.

    The pipeline keeps the last snapshot in the store (each entry's fingerprint and data)
    and asks the source two pure questions: `read` the list against the known fingerprints,
    then `changes`: the items announcing each addition, removal and change.
    """

    def parse(self, content: bytes, url: str, content_type: str | None) -> list[RawItem]:
        """Every entry, as if added to an empty list."""
        return self.changes(self.read(content, url, content_type, {}), {}, {}, url)

    @abstractmethod
    def read(
        self, content: bytes, url: str, content_type: str | None, known: Mapping[str, str]
    ) -> Snapshot:
        """The list's entries; raise ParseError when the list cannot be read as a whole."""

    @abstractmethod
    def changes(
        self,
        snapshot: Snapshot,
        known: Mapping[str, str],
        previous: Mapping[str, Mapping[str, Any]],
        url: str,
    ) -> list[RawItem]:
        """Items for the keys added (in `snapshot`, not `known`), changed (fingerprints
        differ) and removed (in `known` only); `previous` holds the stored data of the
        changed and removed ones. Each item's guid starts with its entry's key and ':'."""


REGISTRY: dict[str, type[Source]] = {}


def register(cls: type[Source]) -> type[Source]:
    """Class decorator: make a Source available as `type: <cls.type_name>` in sources.yaml."""
    REGISTRY[cls.type_name] = cls
    return cls


def build(options: SourceOptions) -> Source:
    """The Source object for validated options."""
    return REGISTRY[options.type](options)


def options_model(type_name: str) -> type[SourceOptions] | None:
    cls = REGISTRY.get(type_name)
    return cls.Options if cls else None


def known_types() -> list[str]:
    return sorted(REGISTRY)
