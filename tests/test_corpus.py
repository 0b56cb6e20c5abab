"""Every feed of the shared real-world corpus through parse → normalise → store (issue #9).

The corpus (`../shared/corpus` beside the repository, or `$MONITOR_CORPUS`) holds feeds
nobody here wrote: feedparser's, feed-rs's and feedjira's test feeds, real state.gov and
White House feeds. Each file goes the pipeline's fetch-less path — `RssSource.parse`,
`monitor.normalize.normalize`, one `Store.record_poll` into a real SQLite file — and we
check that nothing crashes and that no entry disappears without a word: every distinct
entry raw feedparser sees becomes a stored document or a reported error.

The tests skip when the corpus is absent (a user's clone does not have it). Run with
`-s` to see the corpus table (files, entries, documents stored, errors, lost).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest

from monitor.errors import ParseError
from monitor.normalize import normalize
from monitor.sources.rss import RssOptions, RssSource
from monitor.store import Store

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("MONITOR_CORPUS") or ROOT.parent / "shared" / "corpus")
FEED_FOLDERS = (
    "feedparser-tests",
    "feed-rs-fixtures",
    "feedjira-sample-feeds",
    "statedept-press-rss",
    "whitehouse-briefings-rss",
    "federal-register",
)
FEED_SUFFIXES = (".xml", ".rss", ".atom", ".json")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
FEED_URL = "https://corpus.example.org/feed.xml"
# Share of feedparser's distinct entries stored (2026-12-01: 474 of 850 before link-less
# entries were kept, 849 of 849 after). Issue #9's target is 98%.
STORED_FLOOR = 0.99

pytestmark = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"no shared corpus at {CORPUS} (set MONITOR_CORPUS)"
)


def feed_files() -> list[Path]:
    return sorted(
        path
        for folder in FEED_FOLDERS
        if (CORPUS / folder).is_dir()
        for path in (CORPUS / folder).rglob("*")
        if path.is_file() and path.suffix.lower() in FEED_SUFFIXES
    )


def entry_identity(entry: Any) -> tuple[str, ...]:
    """What tells one entry of a feed from another (DESIGN.md's document identity).

    Its guid/id, else its link, else title + date, else its text.
    """
    if entry.get("id"):
        return ("id", str(entry["id"]))
    if entry.get("link"):
        return ("link", str(entry["link"]))
    title = str(entry.get("title") or "")
    date = str(dict.get(entry, "published") or dict.get(entry, "updated") or "")
    if title or date:
        return ("title+date", title, date)
    # Only a description (RSS 0.9x): its text tells it apart. Entries that say nothing at
    # all are indistinguishable, and one document stands for them.
    contents = "".join(str(c.get("value", "")) for c in entry.get("content", []))
    return ("text", str(entry.get("summary") or ""), contents)


@dataclass
class FeedRow:
    """What happened to one corpus file."""

    path: str
    entries: int  # distinct entries raw feedparser sees
    stored: int = 0  # documents the store recorded (new, or a sighting of one it has)
    errors: int = 0  # entries covered by a reported error (a refused feed: all of them)
    feed_error: str | None = None
    crash: str | None = None

    @property
    def lost(self) -> int:
        return max(0, self.entries - self.stored - self.errors)


@dataclass
class CorpusRun:
    rows: list[FeedRow] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(int(getattr(row, name)) for row in self.rows)

    def table(self) -> str:
        folders: dict[str, list[FeedRow]] = {}
        for row in self.rows:
            folders.setdefault(row.path.split("/")[0], []).append(row)
        lines = [
            "| folder | files | refused | entries | stored | errors | lost | crashes |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name, rows in [*sorted(folders.items()), ("total", self.rows)]:
            lines.append(
                f"| {name} | {len(rows)} | {sum(1 for r in rows if r.feed_error)} "
                f"| {sum(r.entries for r in rows)} | {sum(r.stored for r in rows)} "
                f"| {sum(r.errors for r in rows)} | {sum(r.lost for r in rows)} "
                f"| {sum(1 for r in rows if r.crash)} |"
            )
        return "\n".join(lines)


def ingest(path: Path, source_id: str, store: Store) -> FeedRow:
    """One corpus file through parse → normalise → record_poll, as a poll would do it."""
    content = path.read_bytes()
    seen = feedparser.parse(content).get("entries", [])
    row = FeedRow(
        path=str(path.relative_to(CORPUS)),
        entries=len({entry_identity(e) for e in seen}),
    )
    options = RssOptions(id=source_id, url=FEED_URL)
    try:
        items = RssSource(options).parse(content, FEED_URL, None)
    except ParseError as err:  # reported: the poll fails with this message
        row.feed_error, row.errors = str(err), row.entries
        return row
    try:
        docs = [normalize(item, source_id=source_id, fetched_at=NOW) for item in items]
        changes = store.record_poll(source_id, docs, now=NOW, item_count=len(items))
    except Exception as err:  # noqa: BLE001 - any other failure is what we are looking for
        row.crash = f"{type(err).__name__}: {err}"[:300]
        return row
    row.stored = len(changes)
    return row


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorpusRun]:
    """The whole corpus ingested once into one SQLite store (each file its own source)."""
    database = tmp_path_factory.mktemp("corpus") / "monitor.db"
    store = Store.open(f"sqlite:///{database}")
    run = CorpusRun()
    try:
        for index, path in enumerate(feed_files()):
            run.rows.append(ingest(path, f"corpus-{index}", store))
    finally:
        store.close()
    print(f"\nCorpus feeds ({CORPUS}):\n{run.table()}")
    yield run


def test_every_corpus_feed_is_ingested_without_a_crash(corpus_run: CorpusRun) -> None:
    crashes = [f"{row.path}: {row.crash}" for row in corpus_run.rows if row.crash]
    assert len(corpus_run.rows) > 500, "the corpus lost its feeds"
    assert not crashes, "\n".join(crashes)


def test_stored_share_stays_above_the_floor(corpus_run: CorpusRun) -> None:
    entries, stored = corpus_run.total("entries"), corpus_run.total("stored")
    assert stored / entries >= STORED_FLOOR, corpus_run.table()


def test_no_entry_is_lost_without_a_word(corpus_run: CorpusRun) -> None:
    lost = [f"{row.path}: {row.lost} of {row.entries}" for row in corpus_run.rows if row.lost]
    assert not lost, f"{len(lost)} files lose entries silently:\n" + "\n".join(lost[:40])
