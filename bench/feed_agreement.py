"""What we store for a feed entry against what raw feedparser reads in it (issue #9).

For every entry `feedparser.parse(bytes)` sees, four columns compare it with the stored
Document:

- title: our clean title vs feedparser's title, whose markup is stripped and entities
  decoded when feedparser says it is HTML or XHTML (a text/plain title is taken as is:
  its brackets are text); whitespace collapsed on both sides, case kept.
- link: our `Document.url` vs feedparser's link resolved against the feed's address, both
  through `canonical_url`. Entries whose link is not a web address (none, `urn:`, `tag:`)
  are left out of this column and counted as "no web link".
- date: our `published_at` vs feedparser's `published_parsed`, else `updated_parsed`, as
  UTC, within a minute; neither having a date agrees.
- body: our body is non-empty wherever feedparser's summary or content has text.

A date that differs is counted "ours right" (with the agreements) when feedparser's
reading cannot be the printed one and ours is:
- the date text reads one way only — year first ("2020/1/10 14:33:00": Y/M/D is the only
  order in use), or its month named ("mer, 16 nov 2022 …") — and dateutil's plain reading
  of it (fuzzy, year first, zone abbreviations as US pages use them, no zone = UTC) is ours
  to the minute and not feedparser's (or feedparser has none). The shape test is the
  project's `is_unambiguous`; the reading is dateutil's, not our pipeline's;
- or the text is a year of five digits or more ("10000-01-01") or a bare Unix timestamp
  ("1518478934"), which feedparser turns into an invented year-month-day, and we store no
  date.
Every other difference is a disagreement, listed with its file for a human to judge.
"""

from __future__ import annotations

import calendar
import html
import re
import time
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from dateutil import parser as date_parser

from monitor.errors import ParseError
from monitor.models import Document
from monitor.normalize.dates import TZ_ABBREVIATIONS, is_unambiguous
from monitor.normalize.urls import canonical_url

Column = Literal["title", "link", "date", "body"]
COLUMNS: tuple[Column, ...] = ("title", "link", "date", "body")
Verdict = Literal["agree", "ours right", "differ", "n/a"]
_TAG = re.compile(r"<[^>]*>")
_NOT_A_DATE = re.compile(r"\s*(?:[+-]?\d{5,}-|\d{9,}\s*$)")


def _squash(text: str) -> str:
    return " ".join(text.split())


def _html_text(value: str) -> str:
    return _squash(html.unescape(_TAG.sub("", value)))


def reference_title(entry: Any) -> str:
    """feedparser's title as clean text (markup stripped only where it says it is HTML)."""
    value = str(entry.get("title") or "")
    kind = str((entry.get("title_detail") or {}).get("type") or "")
    return _html_text(value) if "html" in kind else _squash(value)


def reference_link(entry: Any, feed_url: str) -> str | None:
    """feedparser's link, canonical, if it is a web address."""
    link = str(entry.get("link") or "").strip()
    if not link:
        return None
    try:
        canonical = canonical_url(link, feed_url)[0]
    except ParseError:
        return None
    return canonical if canonical.startswith(("http://", "https://")) else None


def reference_date(entry: Any) -> tuple[datetime | None, str]:
    """feedparser's reading (published, else updated) in UTC, and the text it read."""
    for key in ("published", "updated"):
        # dict.get: feedparser's own get() maps a missing `updated` to `published`.
        parsed: time.struct_time | None = dict.get(entry, f"{key}_parsed")
        if parsed:
            text = str(dict.get(entry, key) or "")
            try:
                return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC), text
            except (ValueError, OverflowError, OSError):
                return None, text
    return None, str(dict.get(entry, "published") or dict.get(entry, "updated") or "")


def _same_minute(a: datetime | None, b: datetime | None) -> bool:
    return a is not None and b is not None and abs((a - b).total_seconds()) < 60


def plain_reading(text: str) -> datetime | None:
    """dateutil's reading of a date text that reads one way only (else None); naive = UTC."""
    if not text.strip() or not is_unambiguous(text):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an unknown zone name: read without it
        try:
            reading = date_parser.parse(text, fuzzy=True, yearfirst=True, tzinfos=TZ_ABBREVIATIONS)
        except (ValueError, OverflowError):
            return None
    return reading.replace(tzinfo=UTC) if reading.tzinfo is None else reading.astimezone(UTC)


def judge_date(text: str, theirs: datetime | None, ours: datetime | None) -> Verdict:
    """agree, ours right (feedparser misreads, see the module's docstring), or differ."""
    if (theirs is None and ours is None) or _same_minute(theirs, ours):
        return "agree"
    if _NOT_A_DATE.match(text) and ours is None:
        return "ours right"
    reading = plain_reading(text)
    if _same_minute(reading, ours) and not _same_minute(reading, theirs):
        return "ours right"
    return "differ"


@dataclass
class Disagreement:
    path: str
    column: Column
    theirs: str
    ours: str

    def line(self) -> str:
        return f"{self.path}: feedparser {self.theirs!r}, ours {self.ours!r}"


@dataclass
class Agreement:
    """Verdict counts per corpus folder and column, and the disagreements behind them."""

    counts: dict[str, Counter[tuple[Column, Verdict]]] = field(default_factory=dict)
    entries: Counter[str] = field(default_factory=Counter)
    disagreements: list[Disagreement] = field(default_factory=list)

    def _count(self, path: str, column: Column, verdict: Verdict, theirs: str, ours: str) -> None:
        self.counts.setdefault(path.split("/")[0], Counter())[(column, verdict)] += 1
        if verdict in ("differ", "ours right"):
            label = f"{path} [ours right]" if verdict == "ours right" else path
            self.disagreements.append(Disagreement(label, column, theirs[:100], ours[:100]))

    def add_file(
        self, path: str, entries: Sequence[Any], docs: Sequence[Document] | str, feed_url: str
    ) -> None:
        """One file: feedparser's entries and our documents, in order (or why there are none)."""
        folder = path.split("/")[0]
        self.entries[folder] += len(entries)
        for index, entry in enumerate(entries):
            doc = docs[index] if not isinstance(docs, str) and index < len(docs) else None
            missing = docs if isinstance(docs, str) else "(no document)"
            self.add_entry(path, entry, doc, feed_url, missing)

    def add_entry(
        self, path: str, entry: Any, doc: Document | None, feed_url: str, missing: str
    ) -> None:
        title = reference_title(entry)
        ours_title = _squash(doc.title) if doc else missing
        self._count(path, "title", "agree" if title == ours_title else "differ", title, ours_title)

        link = reference_link(entry, feed_url)
        ours_url = doc.url if doc else missing
        if link is None:
            self._count(path, "link", "n/a", "", ours_url)
        else:
            self._count(path, "link", "agree" if link == ours_url else "differ", link, ours_url)

        theirs, text = reference_date(entry)
        if doc is None:
            self._count(path, "date", "differ", text, missing)
        else:
            ours = doc.published_at
            verdict = judge_date(text, theirs, ours)
            shown = f"{text} → {theirs.isoformat() if theirs else 'none'}"
            self._count(path, "date", verdict, shown, ours.isoformat() if ours else "none")

        contents = (c.get("value", "") for c in entry.get("content", []))
        texts = [entry.get("summary") or "", *contents]
        has_text = any(_html_text(str(t)) for t in texts)
        if has_text:
            body = doc.body if doc else missing
            kept: Verdict = "agree" if doc and doc.body.strip() else "differ"
            self._count(path, "body", kept, _html_text(str(texts[0]))[:60], body[:60])
        else:
            self._count(path, "body", "n/a", "", "")

    def _tally(self, folders: Sequence[str]) -> Counter[tuple[Column, Verdict]]:
        total: Counter[tuple[Column, Verdict]] = Counter()
        for folder in folders:
            total.update(self.counts.get(folder, Counter()))
        return total

    def share(self, column: Column, folders: Sequence[str] | None = None) -> float:
        """Agreeing (or ours right) entries of a column, over those it applies to."""
        tally = self._tally(folders if folders is not None else list(self.counts))
        good = tally[(column, "agree")] + tally[(column, "ours right")]
        judged = good + tally[(column, "differ")]
        return good / judged if judged else 1.0

    def _cell(self, column: Column, folders: Sequence[str]) -> str:
        tally = self._tally(folders)
        judged = sum(tally[(column, v)] for v in ("agree", "ours right", "differ"))
        return f"{self.share(column, folders):.1%} of {judged}" if judged else "-"

    def table(self) -> str:
        head = (
            "| folder | entries | title agree | link agree | no web link "
            "| date agree | of which ours right | body kept |"
        )
        lines = [head, "|---|---|---|---|---|---|---|---|"]
        rows = [(name, [name]) for name in sorted(self.counts)]
        for name, folders in [*rows, ("total", list(self.counts))]:
            tally = self._tally(folders)
            lines.append(
                f"| {name} | {sum(self.entries[f] for f in folders)} "
                f"| {self._cell('title', folders)} | {self._cell('link', folders)} "
                f"| {tally[('link', 'n/a')]} | {self._cell('date', folders)} "
                f"| {tally[('date', 'ours right')]} | {self._cell('body', folders)} |"
            )
        return "\n".join(lines)

    def listing(self, limit: int = 10) -> str:
        """Up to `limit` disagreements per column, with their files."""
        lines = []
        for column in COLUMNS:
            found = [d for d in self.disagreements if d.column == column]
            if found:
                right = sum(1 for d in found if d.path.endswith("[ours right]"))
                lines.append(f"{column}: {len(found)} differ ({right} of them ours right)")
                lines.extend(f"  {d.line()}" for d in found[:limit])
        return "\n".join(lines) or "no disagreements"
