"""Every feed of the shared real-world corpus through parse → normalise → store (issue #9).

The corpus (`../shared/corpus` beside the repository, or `$MONITOR_CORPUS`) holds feeds
nobody here wrote: feedparser's, feed-rs's and feedjira's test feeds, real state.gov and
White House feeds. Each file goes the pipeline's fetch-less path — `RssSource.parse`,
`monitor.normalize.normalize`, one `Store.record_poll` into a real SQLite file — and we
check that nothing crashes and that no entry disappears without a word: every distinct
entry raw feedparser sees becomes a stored document or a reported error. The stored
documents are also compared with raw feedparser's reading of each entry — title, link,
date, body (`bench/feed_agreement.py` says how) — and each column's agreement must stay
above the floor measured on the first run.

The tests skip when the corpus is absent (a user's clone does not have it). Run with
`-s` to see the corpus table (files, entries, documents stored, errors, lost) and the
agreement table with up to ten disagreements per column.
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

from bench.extract import FEED_FOLDERS, FEED_SUFFIXES
from bench.feed_agreement import Agreement, Column, Verdict
from monitor.errors import ParseError
from monitor.normalize import normalize
from monitor.sources.rss import RssOptions, RssSource
from monitor.store import Store
from tests.corpus import raw_feedparser

# The corpus is ingested once per run (module-scoped fixture): ~25 s, started first.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("corpus")]

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("MONITOR_CORPUS") or ROOT.parent / "shared" / "corpus")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
FEED_URL = "https://corpus.example.org/feed.xml"
# Share of feedparser's distinct entries stored (2026-12-01: 474 of 850 before link-less
# entries were kept, 849 of 849 after). Issue #9's target is 98%.
STORED_FLOOR = 0.99
# Share of entries whose stored title, link, date and body agree with raw feedparser's
# reading (or where ours is right: bench/feed_agreement.py), measured 2026-12-01 over
# 850 entries: title 99.29% (844; the six others: two chardet-guessed encodings we read
# as Latin-1, two titles whose literal brackets we strip as markup, one text/plain
# base64 title, one <script> whose text we keep), link 100% (468 with a web link; 382
# without), date 100% (one of them ours right), body 100% (556). Floors: 0.5 points less.
AGREEMENT_FLOORS: dict[Column, float] = {
    "title": 0.988,
    "link": 0.995,
    "date": 0.995,
    "body": 0.995,
}


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
    # Documents the store recorded (new, or a sighting of one it has). More than `entries`
    # for the JSON Feeds, which raw feedparser cannot read (it sees no entry in them).
    stored: int = 0
    errors: int = 0  # entries covered by a reported error (a refused feed: all of them)
    feed_error: str | None = None
    crash: str | None = None

    @property
    def stored_of_seen(self) -> int:
        """Of the entries feedparser sees, how many the store recorded."""
        return min(self.stored, self.entries)

    @property
    def lost(self) -> int:
        return max(0, self.entries - self.stored - self.errors)


@dataclass
class CorpusRun:
    rows: list[FeedRow] = field(default_factory=list)
    agreement: Agreement = field(default_factory=Agreement)

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


def ingest(path: Path, source_id: str, store: Store, agreement: Agreement) -> FeedRow:
    """One corpus file through parse → normalise → record_poll, as a poll would do it;
    what the store kept of each entry goes on `agreement`, beside raw feedparser's reading."""
    content = path.read_bytes()
    seen = raw_feedparser(path).get("entries", [])
    row = FeedRow(
        path=str(path.relative_to(CORPUS)),
        entries=len({entry_identity(e) for e in seen}),
    )
    options = RssOptions(id=source_id, url=FEED_URL)
    try:
        items = RssSource(options).parse(content, FEED_URL, None)
    except ParseError as err:  # reported: the poll fails with this message
        row.feed_error, row.errors = str(err), row.entries
        agreement.add_file(row.path, seen, "(feed refused)", FEED_URL)
        return row
    try:
        docs = [normalize(item, source_id=source_id, fetched_at=NOW) for item in items]
        changes = store.record_poll(source_id, docs, now=NOW, item_count=len(items))
    except Exception as err:  # noqa: BLE001 - any other failure is what we are looking for
        row.crash = f"{type(err).__name__}: {err}"[:300]
        agreement.add_file(row.path, seen, "(crash)", FEED_URL)
        return row
    row.stored = len(changes)
    # Our parser reads the same entries in the same order (it is feedparser underneath);
    # an entry whose id repeats in the feed is compared with the one document stored.
    stored = {change.document.id: change.document for change in changes}
    agreement.add_file(row.path, seen, [stored.get(d.id, d) for d in docs], FEED_URL)
    return row


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorpusRun]:
    """The whole corpus ingested once into one SQLite store (each file its own source)."""
    if not CORPUS.is_dir():
        pytest.skip(f"no shared corpus at {CORPUS} (set MONITOR_CORPUS)")
    database = tmp_path_factory.mktemp("corpus") / "monitor.db"
    store = Store.open(f"sqlite:///{database}")
    run = CorpusRun()
    try:
        for index, path in enumerate(feed_files()):
            run.rows.append(ingest(path, f"corpus-{index}", store, run.agreement))
    finally:
        store.close()
    print(f"\nCorpus feeds ({CORPUS}):\n{run.table()}")
    print(f"\nAgreement with raw feedparser:\n{run.agreement.table()}")
    print(run.agreement.listing())
    yield run


def test_every_corpus_feed_is_ingested_without_a_crash(corpus_run: CorpusRun) -> None:
    crashes = [f"{row.path}: {row.crash}" for row in corpus_run.rows if row.crash]
    assert len(corpus_run.rows) > 500, "the corpus lost its feeds"
    assert not crashes, "\n".join(crashes)


def test_stored_share_stays_above_the_floor(corpus_run: CorpusRun) -> None:
    entries, stored = corpus_run.total("entries"), corpus_run.total("stored_of_seen")
    assert stored / entries >= STORED_FLOOR, corpus_run.table()


def test_no_entry_is_lost_without_a_word(corpus_run: CorpusRun) -> None:
    lost = [f"{row.path}: {row.lost} of {row.entries}" for row in corpus_run.rows if row.lost]
    assert not lost, f"{len(lost)} files lose entries silently:\n" + "\n".join(lost[:40])


@pytest.mark.parametrize(
    ("printed", "verdict"),
    [
        # feedparser: 2020-12-01; ours: 10 January, the only reading of a year-first date.
        ("2020/1/10 14:33:00", "ours right"),
        # feedparser: 2010-12-01 and 2015-07-03; we store no date.
        ("10000-01-01", "ours right"),
        ("1518478934", "ours right"),
        # feedparser reads none; ours is a US reading, which nothing here can confirm.
        ("01/02/2020", "differ"),
        ("Mon, 16 Oct 2017 15:10:00 +0000", "agree"),
        ("", "agree"),
    ],
)
def test_a_date_feedparser_misreads_counts_as_ours_right(printed: str, verdict: Verdict) -> None:
    # How the agreement table judges dates, on real readings of both parsers.
    feed = (
        '<rss version="2.0"><channel><link>https://example.org/</link><item>'
        f"<title>Note</title><link>https://example.org/1</link><pubDate>{printed}</pubDate>"
        "</item></channel></rss>"
    ).encode()
    (item,) = RssSource(RssOptions(id="judge", url=FEED_URL)).parse(feed, FEED_URL, None)
    doc = normalize(item, source_id="judge", fetched_at=NOW)
    agreement = Agreement()
    agreement.add_file("own/judge.xml", feedparser.parse(feed).entries, [doc], FEED_URL)
    assert agreement.counts["own"][("date", verdict)] == 1, agreement.listing()


def test_stored_documents_agree_with_raw_feedparser_above_the_floors(
    corpus_run: CorpusRun,
) -> None:
    agreement = corpus_run.agreement
    below = {
        column: f"{agreement.share(column):.2%} < {floor:.2%}"
        for column, floor in AGREEMENT_FLOORS.items()
        if agreement.share(column) < floor
    }
    assert not below, f"{below}\n{agreement.table()}\n{agreement.listing()}"
