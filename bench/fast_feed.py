"""The fast feed path against feedparser: agreement, CPU per feed, and a 100,000-item feed.

    .venv/bin/python bench/fast_feed.py [--corpus DIR] [--repeat N] [--no-big]

For every corpus feed (bench/extract.py's folders) and every fixture feed, both paths of
`RssSource` — the fast one (`monitor.sources.feedxml`) and feedparser — are run and their
normalised Documents compared field by field (entries in order, title, url, published,
updated, body, summary, authors, kind, language). A feed the fast path declines is a
fallback (counted by reason). Then CPU per feed (median of --repeat runs) for both paths
on the state.gov snapshots and over the corpus, and the peak RSS of parsing a generated
feed of 100,000 items (~6.8 MB) in a fresh process, for each path.

Figures are indicative on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.extract import FEED_FOLDERS, FEED_SUFFIXES, corpus_dir  # noqa: E402
from monitor.errors import ParseError  # noqa: E402
from monitor.models import Document, RawItem  # noqa: E402
from monitor.normalize import normalize  # noqa: E402
from monitor.sources import feedxml, rss  # noqa: E402

FEED_URL = "https://example.org/feed"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
FIELDS = (
    "url",
    "title",
    "published_at",
    "updated_at",
    "body",
    "summary",
    "authors",
    "kind",
    "language",
)
OPTIONS = rss.RssOptions(id="bench", url=FEED_URL, kind_from_category=True)


def parse_fast(content: bytes, content_type: str | None = None) -> list[RawItem]:
    """The fast path alone; raises feedxml.Declined."""
    return rss._items(feedxml.parse(content, FEED_URL, content_type), FEED_URL, OPTIONS)


def parse_slow(content: bytes, content_type: str | None = None) -> list[RawItem]:
    """The feedparser path alone; raises ParseError."""
    feed = rss._parse_with_feedparser(content, FEED_URL, content_type)
    return rss._items(feed, FEED_URL, OPTIONS)


def parse_fastfeedparser(content: bytes, content_type: str | None = None) -> list[RawItem]:
    """The `fastfeedparser` package (PyPI) read into the same builder, for comparison only."""
    import fastfeedparser

    try:
        parsed = fastfeedparser.parse(content)
    except Exception as err:  # noqa: BLE001 - any failure is a fallback
        raise feedxml.Declined(f"fastfeedparser: {str(err)[:60]}") from None
    entries = []
    for e in parsed.get("entries", []):
        dates = {}
        for key in ("published", "updated"):
            text = e.get(key)
            try:
                stamp = datetime.fromisoformat(text).astimezone(UTC) if text else None
            except ValueError:
                stamp = None
            dates[key] = (text, stamp.utctimetuple() if stamp else None)
        bodies = [c.get("value", "") for c in e.get("content") or [] if c.get("value")]
        entries.append(
            feedxml.FeedEntry(
                title=e.get("title") or "",
                link=e.get("link") or "",
                guid=e.get("id") or None,
                summary=e.get("description") or "",
                content=max(bodies, key=len) if bodies else "",
                published=dates["published"][0],
                published_parsed=dates["published"][1],
                updated=dates["updated"][0],
                updated_parsed=dates["updated"][1],
                authors=[a.get("name") for a in e.get("authors") or [] if a.get("name")],
                author=e.get("author") or None,
                tags=[t.get("term") for t in e.get("tags") or [] if t.get("term")],
            )
        )
    if not entries:
        raise feedxml.Declined("fastfeedparser: no entries")
    channel = parsed.get("feed", {})
    feed = feedxml.Feed(entries, channel.get("link") or "", channel.get("language") or None)
    return rss._items(feed, FEED_URL, OPTIONS)


def documents(items: list[RawItem]) -> list[Document]:
    return [normalize(i, source_id="bench", fetched_at=NOW) for i in items]


@dataclass
class Difference:
    path: str
    index: int
    field: str
    fast: str
    slow: str

    def line(self) -> str:
        return (
            f"{self.path} #{self.index} {self.field}: fast {self.fast!r}, feedparser {self.slow!r}"
        )


@dataclass
class Comparison:
    """Both paths over many feeds: fallbacks by reason, per-field agreement, differences."""

    feeds: int = 0
    fast_feeds: int = 0
    items: int = 0
    fallbacks: Counter[str] = field(default_factory=Counter)
    agree: Counter[str] = field(default_factory=Counter)
    differences: list[Difference] = field(default_factory=list)

    fast_parse: Callable[[bytes, str | None], list[RawItem]] = parse_fast

    def add(self, path: str, content: bytes, content_type: str | None = None) -> None:
        self.feeds += 1
        try:
            fast = documents(self.fast_parse(content, content_type))
        except feedxml.Declined as why:
            self.fallbacks[_reason(str(why))] += 1
            return
        self.fast_feeds += 1
        try:
            slow = documents(parse_slow(content, content_type))
        except ParseError as err:
            self.differences.append(Difference(path, -1, "entries", f"{len(fast)}", str(err)))
            return
        if len(fast) != len(slow):
            self.differences.append(Difference(path, -1, "entries", f"{len(fast)}", f"{len(slow)}"))
            return
        self.items += len(fast)
        for index, (a, b) in enumerate(zip(fast, slow, strict=True)):
            for name in FIELDS:
                mine, theirs = getattr(a, name), getattr(b, name)
                if mine == theirs:
                    self.agree[name] += 1
                else:
                    self.differences.append(
                        Difference(path, index, name, str(mine)[:80], str(theirs)[:80])
                    )
            if a.id == b.id:
                self.agree["id"] += 1
            else:
                self.differences.append(Difference(path, index, "id", a.id, b.id))

    def table(self) -> str:
        lines = [
            f"feeds {self.feeds}, fast path {self.fast_feeds}, "
            f"fallbacks {sum(self.fallbacks.values())}, items compared {self.items}",
            "",
            "| field | agree | of | % |",
            "|---|---|---|---|",
        ]
        for name in ("id", *FIELDS):
            agree = self.agree[name]
            share = agree / self.items if self.items else 1.0
            lines.append(f"| {name} | {agree} | {self.items} | {share:.2%} |")
        lines += ["", "| fallback reason | feeds |", "|---|---|"]
        lines += [f"| {reason} | {n} |" for reason, n in self.fallbacks.most_common()]
        return "\n".join(lines)


def _reason(text: str) -> str:
    """A fallback reason without its particulars (file positions, element names kept)."""
    return text.split(":")[0] if text.startswith(("not well-formed", "encoding")) else text


def corpus_feeds(corpus: Path) -> list[Path]:
    return sorted(
        path
        for folder in FEED_FOLDERS
        if (corpus / folder).is_dir()
        for path in (corpus / folder).rglob("*")
        if path.is_file() and path.suffix.lower() in FEED_SUFFIXES and path.suffix != ".json"
    )


def fixture_feeds() -> list[Path]:
    return sorted(
        p
        for p in (REPO / "fixtures").rglob("*")
        if p.is_file() and p.suffix.lower() in (".xml", ".rss", ".atom")
    )


def compare(
    files: list[Path], root: Path, fast: Callable[[bytes, str | None], list[RawItem]] = parse_fast
) -> Comparison:
    comparison = Comparison(fast_parse=fast)
    for path in files:
        comparison.add(str(path.relative_to(root)), path.read_bytes())
    return comparison


def cpu_ms(fn: Callable[[], object], repeat: int) -> float:
    """Median CPU milliseconds of `repeat` calls."""
    times = []
    for _ in range(repeat):
        started = time.process_time()
        fn()
        times.append(time.process_time() - started)
    return statistics.median(times) * 1000


def _quiet(fn: Callable[[bytes], object], content: bytes) -> Callable[[], object]:
    def call() -> object:
        try:
            return fn(content)
        except (ParseError, feedxml.Declined):
            return None

    return call


# The child process imports only what the pipeline's parse step imports, so that its
# peak RSS is the parse's and not this benchmark's (bench.extract pulls in readability).
# Peak RSS: VmHWM where Linux has it (ru_maxrss carries the forking parent's peak over exec).
_BIG_CHILD = """
import resource, sys, time
from monitor.sources import feedxml, rss
def peak_mb():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
with open(sys.argv[2], "rb") as file:
    content = file.read()
url = "https://example.org/feed"
options = rss.RssOptions(id="bench", url=url)
before = peak_mb()
started = time.process_time()
if sys.argv[1] == "fast":
    parsed = rss._items(feedxml.parse(content, url, None), url, options)
else:
    parsed = rss._items(rss._parse_with_feedparser(content, url, None), url, options)
cpu = time.process_time() - started
peak = peak_mb()
print(f"{len(content) / 1e6:.1f} {len(parsed)} {cpu:.2f} {before:.0f} {peak:.0f}")
"""


def big_feed(items: int) -> bytes:
    """A well-formed RSS 2.0 feed of `items` short items (title and link)."""
    head = (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        "<title>Big</title><link>https://example.org/</link><language>en</language>\n"
    )
    body = "".join(
        f"<item><title>Item {i}</title><link>https://e.org/{i}</link></item>\n"
        for i in range(items)
    )
    return (head + body + "</channel></rss>\n").encode()


def print_big(items: int = 100_000) -> None:
    print(f"\n{items:,}-item RSS feed (title + link each), each path in a fresh process:\n")
    feed = tempfile.NamedTemporaryFile(suffix=".rss", delete=False)
    with feed:
        feed.write(big_feed(items))
    print("| path | feed MB | items | CPU s | peak RSS before parsing MB | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    for path in ("fast", "feedparser"):
        out = subprocess.run(
            [sys.executable, "-c", _BIG_CHILD, path, feed.name],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        if out.returncode != 0:
            print(f"| {path} | failed: {out.stderr.strip().splitlines()[-1:]} |")
            continue
        size, count, cpu, before, peak = out.stdout.split()
        print(f"| {path} | {size} | {count} | {cpu} | {before} | {peak} |")
    os.unlink(feed.name)


def print_cpu(
    files: list[Path],
    root: Path,
    repeat: int,
    per_feed: bool,
    parse: Callable[[bytes], list[RawItem]] = parse_fast,
) -> None:
    fast_ms, slow_ms = [], []
    rows = []
    for path in files:
        content = path.read_bytes()
        fast = cpu_ms(_quiet(parse, content), repeat)
        slow = cpu_ms(_quiet(parse_slow, content), repeat)
        fast_ms.append(fast)
        slow_ms.append(slow)
        rows.append((str(path.relative_to(root)), fast, slow))
    if per_feed:
        print("| feed | fast ms CPU | feedparser ms CPU | ratio |")
        print("|---|---|---|---|")
        for name, fast, slow in rows:
            print(f"| {name} | {fast:.2f} | {slow:.2f} | {slow / max(fast, 1e-6):.0f}x |")
    fast_median, slow_median = statistics.median(fast_ms), statistics.median(slow_ms)
    print(
        f"\n{len(files)} feeds: median fast {fast_median:.2f} ms, feedparser "
        f"{slow_median:.2f} ms (ratio {slow_median / max(fast_median, 1e-6):.1f}x); "
        f"total fast {sum(fast_ms) / 1000:.2f} s, feedparser {sum(slow_ms) / 1000:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", help="the shared corpus folder (default: ../shared/corpus)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per feed (median CPU)")
    parser.add_argument("--no-big", action="store_true", help="skip the 100,000-item feed")
    parser.add_argument("--differences", type=int, default=40, help="differences to list")
    args = parser.parse_args()
    fixtures = compare(fixture_feeds(), REPO)
    print("Fixtures (fixtures/):\n")
    print(fixtures.table())
    corpus = corpus_dir(args.corpus)
    files = corpus_feeds(corpus) if (corpus / "README.md").is_file() else []
    if not files:
        print(f"\nskipped: no shared corpus at {corpus} (set MONITOR_CORPUS or --corpus)")
    else:
        comparison = compare(files, corpus)
        print("\nCorpus:\n")
        print(comparison.table())
        print(f"\nDifferences (first {args.differences}):")
        for difference in comparison.differences[: args.differences]:
            print("  " + difference.line())
        state = [p for p in files if "statedept-press-rss" in p.parts]
        print(f"\nCPU per state.gov feed (median of {args.repeat}):\n")
        print_cpu(state, corpus, args.repeat, per_feed=True)
        print(f"\nCPU over the whole corpus (median of {args.repeat} per feed):")
        print_cpu(files, corpus, args.repeat, per_feed=False)
        try:
            import fastfeedparser  # noqa: F401
        except ImportError:
            print("\nfastfeedparser: skipped (not installed; pip install fastfeedparser)")
        else:
            other = compare(files, corpus, parse_fastfeedparser)
            print("\nThe other candidate, fastfeedparser (PyPI), against feedparser:\n")
            print(other.table().split("\n\n| fallback")[0])
            print(f"({len(other.differences)} field differences; first {args.differences}:)")
            for difference in other.differences[: args.differences]:
                print("  " + difference.line())
            print("\nCPU per state.gov feed, fastfeedparser vs feedparser path:\n")
            print_cpu(state, corpus, args.repeat, per_feed=True, parse=parse_fastfeedparser)
    if not args.no_big:
        print_big()


if __name__ == "__main__":
    main()
