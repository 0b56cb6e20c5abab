"""The data that flows through the pipeline: RawItem → Document → PollResult."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


@dataclass
class RawItem:
    """What a source found for one release, before normalisation.

    Dates are either aware datetimes (a feed gave a structured time) or the text the page
    printed (normalisation parses it with the source's time zone). `anchor` distinguishes
    releases printed together on one page, or entries without a web address of their own
    (`standalone`: there is no page to follow, the entry's text is the release).
    """

    url: str
    title: str = ""
    summary_html: str = ""
    content_html: str = ""
    published: datetime | str | None = None
    updated: datetime | str | None = None
    authors: list[str] = field(default_factory=list)
    kind: str | None = None
    office: str | None = None
    location: str | None = None
    language: str | None = None
    guid: str | None = None
    anchor: str | None = None
    standalone: bool = False


class Document(BaseModel):
    """One release, normalised (the schema in DESIGN.md)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    source_id: str
    url: str
    title: str
    kind: str | None = None
    published_at: datetime | None = None
    updated_at: datetime | None = None
    authors: list[str] = Field(default_factory=list)
    office: str | None = None
    location: str | None = None
    summary: str = ""
    body: str = ""
    language: str | None = None
    content_hash: str
    fetched_at: datetime
    version: int = 1


Change = Literal["new", "updated", "unchanged", "sighting"]


@dataclass
class StoredChange:
    """What the store did with one Document, and the rules it matched."""

    document: Document
    change: Change
    matches: list[Match] = field(default_factory=list)


@dataclass
class PollResult:
    """The outcome of polling one source once; a failure is data, not an exception."""

    source_id: str
    status: Literal["ok", "not_modified", "error"]
    error: str | None = None
    items: int = 0
    changes: list[StoredChange] = field(default_factory=list)
    item_errors: list[str] = field(default_factory=list)
    duration: float = 0.0
    # The first poll of a new source: its items were stored without alerting, except those
    # published within the source's alert_max_age (`alerted`); `withheld` matched but older.
    baseline: bool = False
    alerted: int = 0
    withheld: int = 0
    # What else the poll did, for people (e.g. "baseline: 15000 entries recorded").
    note: str | None = None
    http_status: int | None = None  # the source URL's answer, for the poll history
    started: float = field(default_factory=time.perf_counter, repr=False, compare=False)

    def elapsed(self) -> float:
        """Seconds since the poll began (its duration, once it is over)."""
        return time.perf_counter() - self.started

    # The counts of every change, once `keep_only` dropped some: what `count` says then.
    counted: dict[str, int] | None = field(default=None, repr=False, compare=False)

    def count(self, change: Change) -> int:
        if self.counted is not None:
            return self.counted.get(change, 0)
        return sum(1 for c in self.changes if c.change == change)

    def keep_only(self, keep: Callable[[StoredChange], bool]) -> None:
        """Drop the changes `keep` rejects (a long cycle's report has shown them already);
        `count` still counts them."""
        if self.counted is None:
            self.counted = {}
            for c in self.changes:
                self.counted[c.change] = self.counted.get(c.change, 0) + 1
        self.changes = [c for c in self.changes if keep(c)]

    def baseline_note(self) -> str | None:
        """'baseline: 20 stored, 0 alerted' for a new source's first poll, else None."""
        if not self.baseline:
            return None
        stored = self.count("new") + self.count("updated")
        note = f"baseline: {stored} stored, {self.alerted} alerted"
        if self.withheld:
            note += f" ({self.withheld} older matching not alerted)"
        return note


class Match(BaseModel):
    """A rule that matched a document version, with the evidence."""

    rule_id: str
    rule_name: str
    document_id: str
    version: int
    field: str
    terms: list[str]
    snippet: str
    highlights: list[tuple[int, int]] = Field(default_factory=list)
    # Where each matched term stands in the document: (field, start, end) character offsets.
    positions: list[tuple[str, int, int]] = Field(default_factory=list)

    def marked(self, before: str = "**", after: str = "**") -> str:
        """The snippet with matched words wrapped (default: **bold**)."""
        return "".join(
            f"{before}{text}{after}" if bold else text
            for text, bold in segments(self.snippet, self.highlights)
        )


def segments(snippet: str, highlights: Sequence[Sequence[int]]) -> list[tuple[str, bool]]:
    """A snippet as (text, highlighted) pieces, for templates to escape and mark."""
    out, last = [], 0
    for start, end in highlights:
        out += [(snippet[last:start], False), (snippet[start:end], True)]
        last = end
    out.append((snippet[last:], False))
    return [(text, bold) for text, bold in out if text]
