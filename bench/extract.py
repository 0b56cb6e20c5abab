"""Extraction benchmark on real pages and feeds (issue #9): our extractor vs well-kept ones.

Over the article pages of Mozilla Readability's test suite in the shared corpus
(`../shared/corpus/readability-test-pages/<page>/source.html`, with Readability's
`expected.html` and `expected-metadata.json`), for each extractor:

- body: token F1 of the extracted body text against the text of `expected.html`
  (median, share of pages ≥ 0.9, share < 0.5, pages at 0, the worst five by name);
- title: share of pages whose title has token F1 ≥ 0.8 with the expected metadata title;
- time: median milliseconds per page (each page's fastest of `--repeat` runs; figures
  from a loaded machine are noisy, compare extractors within one run).

The reference is what Readability.js keeps, so the figures favour extractors of the same
lineage (readability-lxml ports its algorithm): a caption or heading another extractor
keeps or drops differently counts against it even when harmless. Expected titles follow
Readability's rules too (metadata, else `<title>`, not the `<h1>`).

Token F1 (kept simple on purpose): a text's tokens are its lowercase word tokens
(`\\w+`, Unicode-aware); with C = the size of the multiset intersection of the extracted
and expected tokens, precision = C / extracted tokens, recall = C / expected tokens,
F1 = 2PR / (P + R); 1.0 when both are empty, 0.0 when only one is.

Extractors measured (each as the project would store its output):
- current: `monitor.sources.article.extract_releases` with default `ArticleSelectors`
  (as the pipeline calls it for `follow_links`), then `monitor.normalize.normalize`:
  readability-lxml's main content (our own heuristic only when it finds nothing), the
  title from the page's metadata (JSON-LD, `og:title`, `twitter:title`, …), else
  readability-lxml's `short_title()`, else `<h1>`;
- trafilatura: `bare_extraction(..., with_metadata=True, include_comments=False)`, its
  text and title as they come;
- readability-lxml: `Document(...).summary(html_partial=True)` through the project's
  own `html_to_text`, title from `short_title()`;
- hybrid: readability-lxml's body, the current extractor's when it finds nothing; the
  title from the page's metadata (JSON-LD `headline`/`name`, `og:title`,
  `twitter:title`, `dc.title`, `parsely-title`), else readability-lxml's `short_title()`.
  This is the design `current` adopted (2026-12-01); kept as the reference it was
  measured against. (In the product, a source's configured BeautifulSoup selectors still
  come first; these pages have none.)

Dates (current only): on the pages whose expected metadata gives Readability's
`publishedTime`, whether our `published_at` is the same instant (within a minute), the
same UTC day, missing, or another date; on the other pages, how many we date at all.

Then, over every feed file of the corpus, parse time per feed: `RssSource.parse` vs a
raw `feedparser.parse` of the same bytes (median and total); and the agreement table of
our normalised documents with raw feedparser's entries (title, link, date, body, per
corpus folder, up to ten disagreements per column; `bench/feed_agreement.py` says how
each column is judged; tests/test_corpus.py asserts its floors on the stored documents).

Targets (issue #9): median F1 ≥ 0.97, ≥ 90% of pages ≥ 0.9, no page at 0 where Readability
finds text; titles agree on ≥ 90%.

    python bench/extract.py [--corpus PATH] [--only current,trafilatura] [--repeat 3]
                            [--no-feeds]

readability-lxml is a project dependency; trafilatura is not: install it in your
virtual environment to measure it (`pip install trafilatura`);
an extractor whose package is missing is reported as such and skipped. The corpus is
`$MONITOR_CORPUS` or `../shared/corpus` beside the repository; without it the benchmark
says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import lxml.html
from bs4 import Tag

from monitor.errors import ParseError
from monitor.normalize import normalize
from monitor.normalize.dates import parse_date
from monitor.normalize.text import clean_line, html_to_text
from monitor.sources.article import extract_releases, make_soup
from monitor.sources.base import ArticleSelectors
from monitor.sources.rss import RssOptions, RssSource

# Run as a script (`python bench/extract.py`), the repository root is not on the path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.feed_agreement import Agreement  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
PAGE_URL = "http://fakehost/test/page.html"  # the URL Readability's own tests use
FEED_FOLDERS = (
    "feedparser-tests",
    "feed-rs-fixtures",
    "feedjira-sample-feeds",
    "statedept-press-rss",
    "whitehouse-briefings-rss",
    "federal-register",
)
FEED_SUFFIXES = (".xml", ".rss", ".atom", ".json")
NOW = datetime(2026, 1, 1, tzinfo=UTC)
_WORD = re.compile(r"\w+")


def corpus_dir(explicit: str | None = None) -> Path:
    """The shared corpus: --corpus, else $MONITOR_CORPUS, else ../shared/corpus."""
    return Path(explicit or os.environ.get("MONITOR_CORPUS") or REPO.parent / "shared" / "corpus")


def tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def token_f1(extracted: str, expected: str) -> float:
    """Multiset overlap F1 of the lowercase word tokens of two texts."""
    got, want = Counter(tokens(extracted)), Counter(tokens(expected))
    if not got and not want:
        return 1.0
    common = sum((got & want).values())
    if not common:
        return 0.0
    precision, recall = common / sum(got.values()), common / sum(want.values())
    return 2 * precision * recall / (precision + recall)


def html_text(html: str) -> str:
    """Every text node of an HTML fragment, space-joined (so words never run together)."""
    if not html.strip():
        return ""
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    return " ".join(root.itertext())


@dataclass
class Page:
    name: str
    source: bytes
    expected_text: str
    expected_title: str
    expected_published: str | None = None


def load_pages(corpus: Path) -> list[Page]:
    pages = []
    for folder in sorted((corpus / "readability-test-pages").iterdir()):
        source = folder / "source.html"
        if not source.is_file():
            continue
        meta = json.loads((folder / "expected-metadata.json").read_text("utf-8"))
        expected = html_text((folder / "expected.html").read_text("utf-8"))
        pages.append(
            Page(
                folder.name,
                source.read_bytes(),
                expected,
                meta.get("title") or "",
                meta.get("publishedTime") or None,
            )
        )
    return pages


# -- extractors: page bytes → (body text, title) -------------------------------------------

Extractor = Callable[[bytes], tuple[str, str]]


def current(source: bytes) -> tuple[str, str]:
    """What the pipeline stores for a followed article page today."""
    raws = extract_releases(source, PAGE_URL, ArticleSelectors(), "text/html")
    doc = normalize(raws[0], source_id="bench", fetched_at=NOW)
    return doc.body, doc.title


def trafilatura_extract(source: bytes) -> tuple[str, str]:
    import trafilatura

    doc = trafilatura.bare_extraction(
        source, url=PAGE_URL, with_metadata=True, include_comments=False
    )
    if doc is None or isinstance(doc, dict):  # a dict only with as_dict=True
        return "", ""
    return doc.text or "", doc.title or ""


def readability_extract(source: bytes) -> tuple[str, str]:
    from readability import Document as ReadabilityDocument

    doc = ReadabilityDocument(source, url=PAGE_URL)
    return html_to_text(doc.summary(html_partial=True)), clean_line(doc.short_title())


_TITLE_META: tuple[dict[str, Any], ...] = (
    {"property": "og:title"},
    {"name": "twitter:title"},
    {"name": re.compile(r"^(dc|dcterms?)\.title$", re.I)},
    {"name": "parsely-title"},
)


def metadata_title(source: bytes) -> str:
    """The page's own title metadata: JSON-LD headline/name, og:title, twitter:title, …"""
    soup = make_soup(source, "text/html")
    for script in soup.find_all("script", type="application/ld+json"):
        try:
            data = json.loads(script.get_text())
        except ValueError:
            continue
        for obj in data if isinstance(data, list) else [data]:
            for key in ("headline", "name"):
                value = obj.get(key) if isinstance(obj, dict) else None
                if isinstance(value, str) and value.strip():
                    return clean_line(value)
    for attrs in _TITLE_META:
        el = soup.find("meta", attrs=attrs)
        if isinstance(el, Tag) and str(el.get("content") or "").strip():
            return clean_line(str(el["content"]))
    return ""


def hybrid(source: bytes) -> tuple[str, str]:
    """readability-lxml's body (our heuristics if it finds none); metadata title first."""
    body, title = readability_extract(source)
    if not body.strip():
        body = current(source)[0]
    return body, metadata_title(source) or title


EXTRACTORS: dict[str, tuple[Extractor, str | None]] = {
    # name: (function, the package it needs beyond the project's own)
    "current": (current, None),
    "trafilatura": (trafilatura_extract, "trafilatura"),
    "readability-lxml": (readability_extract, "readability"),
    "hybrid": (hybrid, "readability"),
}


@dataclass
class Scores:
    name: str
    f1: dict[str, float] = field(default_factory=dict)
    title_f1: dict[str, float] = field(default_factory=dict)
    ms: list[float] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)


def measure(name: str, extractor: Extractor, pages: list[Page], repeat: int = 1) -> Scores:
    """Scores of one extractor; a page's time is the fastest of `repeat` runs (less noise)."""
    scores = Scores(name)
    for page in pages:
        fastest = float("inf")
        for _ in range(repeat):
            started = time.perf_counter()
            try:
                body, title = extractor(page.source)
            except Exception as err:  # noqa: BLE001 - a crash on one page is a figure
                body, title = "", ""
                scores.failures[page.name] = f"{type(err).__name__}: {err}"[:120]
            fastest = min(fastest, time.perf_counter() - started)
        scores.ms.append(fastest * 1000)
        scores.f1[page.name] = token_f1(body, page.expected_text)
        scores.title_f1[page.name] = token_f1(title, page.expected_title)
    return scores


def _share(values: list[float], test: Callable[[float], bool]) -> str:
    return f"{sum(1 for v in values if test(v)) / len(values):.0%}" if values else "-"


def print_pages(results: list[Scores], pages: list[Page]) -> None:
    print(f"Article pages: {len(pages)} (Readability test pages; token F1 vs expected.html)\n")
    head = ("extractor", "median F1", "F1≥0.9", "F1<0.5", "F1=0", "title≥0.8", "ms/page")
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    for s in results:
        f1 = list(s.f1.values())
        row = (
            s.name,
            f"{statistics.median(f1):.3f}",
            _share(f1, lambda v: v >= 0.9),
            _share(f1, lambda v: v < 0.5),
            str(sum(1 for v in f1 if v == 0)),
            _share(list(s.title_f1.values()), lambda v: v >= 0.8),
            f"{statistics.median(s.ms):.1f}",
        )
        print("| " + " | ".join(row) + " |")
    print("\nTargets: median F1 ≥ 0.97, ≥ 90% of pages ≥ 0.9, none at 0, titles ≥ 90%.")
    for s in results:
        worst = sorted(s.f1.items(), key=lambda kv: (kv[1], kv[0]))[:5]
        print(f"\n{s.name}: worst five: " + ", ".join(f"{n} {v:.2f}" for n, v in worst))
        for page_name, error in s.failures.items():
            print(f"  {page_name}: failed: {error}")


def print_dates(pages: list[Page]) -> None:
    """How the current extractor's published date compares with Readability's."""
    counts: Counter[str] = Counter()
    dated_without_reference = 0
    others: list[str] = []
    for page in pages:
        raws = extract_releases(page.source, PAGE_URL, ArticleSelectors(), "text/html")
        ours = normalize(raws[0], source_id="bench", fetched_at=NOW).published_at
        if page.expected_published is None:
            dated_without_reference += ours is not None
            continue
        expected = parse_date(page.expected_published, now=NOW)
        if ours is None:
            counts["none"] += 1
        elif expected is not None and abs((ours - expected).total_seconds()) <= 60:
            counts["same instant"] += 1
        elif expected is not None and ours.date() == expected.date():
            counts["same day"] += 1
        else:
            counts["other"] += 1
            others.append(f"{page.name} {ours.isoformat()} vs {page.expected_published}")
    total = sum(counts.values())
    print(
        f"\nDates (current): {total} pages give Readability's publishedTime: "
        + ", ".join(f"{k} {counts[k]}" for k in ("same instant", "same day", "none", "other"))
        + f"; of the {len(pages) - total} others we date {dated_without_reference}."
    )
    for line in others:
        print(f"  other: {line}")


# -- feeds ---------------------------------------------------------------------------------


def feed_files(corpus: Path) -> list[Path]:
    return sorted(
        path
        for folder in FEED_FOLDERS
        if (corpus / folder).is_dir()
        for path in (corpus / folder).rglob("*")
        if path.is_file() and path.suffix.lower() in FEED_SUFFIXES
    )


def _parse_ours(source: RssSource, content: bytes) -> bool:
    """RssSource.parse as the pipeline calls it; False when it refuses the file."""
    try:
        source.parse(content, "https://example.org/feed", None)
    except ParseError:
        return False
    return True


def _fastest(repeat: int, fn: Callable[[], object]) -> float:
    """Milliseconds of the fastest of `repeat` calls."""
    fastest = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        fastest = min(fastest, time.perf_counter() - started)
    return fastest * 1000


def feed_agreement(corpus: Path, files: list[Path], source: RssSource) -> Agreement:
    """Each file's normalised documents against raw feedparser's entries, column by column."""
    agreement = Agreement()
    feed_url = "https://example.org/feed"
    for path in files:
        content = path.read_bytes()
        entries = feedparser.parse(content).get("entries", [])
        name = str(path.relative_to(corpus))
        try:
            items = source.parse(content, feed_url, None)
        except ParseError:
            agreement.add_file(name, entries, "(feed refused)", feed_url)
            continue
        docs = [normalize(item, source_id="bench", fetched_at=NOW) for item in items]
        agreement.add_file(name, entries, docs, feed_url)
    return agreement


def print_feeds(corpus: Path, repeat: int = 1) -> None:
    files = feed_files(corpus)
    source = RssSource(RssOptions(id="bench", url="https://example.org/feed"))
    ours: list[float] = []
    raw: list[float] = []
    for path in files:
        content = path.read_bytes()
        raw.append(_fastest(repeat, lambda: feedparser.parse(content)))  # noqa: B023
        ours.append(_fastest(repeat, lambda: _parse_ours(source, content)))  # noqa: B023
    refused = sum(1 for path in files if not _parse_ours(source, path.read_bytes()))
    agreement = feed_agreement(corpus, files, source)
    print(f"\nFeeds: {len(files)} files ({refused} refused by RssSource.parse)\n")
    print("| parser | median ms/feed | p95 ms/feed | total s |")
    print("|---|---|---|---|")
    for name, times in (("RssSource.parse", ours), ("feedparser.parse (raw)", raw)):
        p95 = statistics.quantiles(times, n=20)[-1]
        print(f"| {name} | {statistics.median(times):.2f} | {p95:.2f} | {sum(times) / 1000:.2f} |")
    print("\nAgreement of our documents with raw feedparser (bench/feed_agreement.py says how):\n")
    print(agreement.table())
    print(agreement.listing())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", help="the shared corpus folder (default: ../shared/corpus)")
    parser.add_argument(
        "--only", default=",".join(EXTRACTORS), help="comma-separated extractors to measure"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="time each page/feed this many times, keep the fastest",
    )
    parser.add_argument("--no-feeds", action="store_true", help="skip the feed parse timing")
    args = parser.parse_args()
    corpus = corpus_dir(args.corpus)
    if not (corpus / "readability-test-pages").is_dir():
        print(f"skipped: no shared corpus at {corpus} (set MONITOR_CORPUS or --corpus)")
        return
    pages = load_pages(corpus)
    results = []
    for name in args.only.split(","):
        if name not in EXTRACTORS:
            sys.exit(f"unknown extractor '{name}'; known: {', '.join(EXTRACTORS)}")
        extractor, package = EXTRACTORS[name]
        if package is not None:
            try:
                __import__(package)
            except ImportError:
                print(f"{name}: skipped, package '{package}' is not installed")
                continue
        results.append(measure(name, extractor, pages, args.repeat))
    if results:
        print_pages(results, pages)
    if "current" in args.only.split(","):
        print_dates(pages)
    if not args.no_feeds:
        print_feeds(corpus, args.repeat)


if __name__ == "__main__":
    main()
