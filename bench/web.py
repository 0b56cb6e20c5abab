"""Web pages benchmark: every page's median time with 10,000 documents and 1,000 sources,
and "try a rule" / the documents search over 100,000 documents.

1. A temporary SQLite database is filled through the store as polls fill it (documents and
   their word index, matches, alerts with delivery attempts, each source's last 100 polls,
   one source in ten failing, a document with 2 versions). Each page is requested in-process
   through the ASGI app (Starlette's TestClient: the whole app stack, no network) and the
   median wall and CPU time printed; then each search run whole (no budget), and the time
   to record a failed poll beside the poll history.
2. Another is filled with 100,000 documents (documents only: what a search reads) unless
   generating them takes over 3 minutes (it then says so and times what it made), and the
   searches are timed again.

Targets (issue #12): every page ≤ 200 ms; "try a rule" and the documents search ≤ 1 s over
10,000 documents, ≤ 5 s over 100,000 (past the app's budget, 5 s, a search stops and says
how far it got). CPU time is printed beside wall time: on a shared machine it says what a
quiet one would take.

    python bench/web.py [--docs 10000] [--sources 1000] [--runs 7] [--large 100000]
                        [--keep DIR]   # fill DIR/web_*.db once, reuse them after
                        [--postgresql URL]  # schemas bench_web_* there (--keep: kept)
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, select, text
from starlette.testclient import TestClient

from monitor.alerts.routing import alert_maker
from monitor.models import Document
from monitor.rules import Rule, RuleSet, parse_query
from monitor.settings import Settings
from monitor.store import Store
from monitor.store.browse import DocumentFilter
from monitor.store.outbox import write_attempts
from monitor.store.polls import POLLS_KEPT
from monitor.store.tables import outbox, source_polls
from monitor.web import Live, create_app
from monitor.web.search import search
from monitor.web.state import ChannelInfo

COMMON = (
    "the of and to in a is that for on with as by at from said it was were be has have had "
    "will would not this an which its their they he she we his her after over also more than "
    "two new year government officials statement week minister talks country countries "
    "security president foreign state states united national international meeting support "
    "policy economic program region regional agreement council committee department office "
    "press release report told reporters according spokesperson visit cooperation trade "
    "peace efforts leaders summit bilateral relations issue plan"
).split()
TOPICS = (
    "sanctions sanctioned designated designation missile launch negotiations embargo exports "
    "financing shipping vessel cyber alliance exercise troops envoy diplomat waiver renewed "
    "frozen blacklist tariffs nuclear refugees humanitarian election ceasefire imposed lifted"
).split()
NAMES = ["Seoul", "Tokyo", "Biegun", "Pyongyang", "Brussels", "Kyiv", "Caracas", "Minsk"]
KINDS = ("Press Release", "Media Note", "Statement", "Readout", "Speech")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
COMMON_QUERY = "sanction* AND minister"  # "try a rule": a query people start from
RULES = [
    ("sanctions", "sanction* NEAR/6 (impos* OR lift*)"),
    ("envoy", "envoy AND (Seoul OR Tokyo)"),
    ("missiles", '"missile launch"'),
]
# Searched whole (no budget), from a rare phrase to what the index cannot narrow.
SEARCHES = (
    '"missile launch" AND Caracas',
    "envoy",
    COMMON_QUERY,
    "Pyongyang",  # a name in 3 documents of 8
    "minister",  # in nearly every document: the index cannot narrow it
    "NOT minister",  # only NOT: every document is read
)
LARGE_FILL_LIMIT = 180.0  # seconds: past this the 100,000 documents are not worth waiting for


def _text(rng: random.Random, words: int) -> str:
    chosen = rng.choices(COMMON, k=words)
    for _ in range(rng.randint(1, 4)):  # a release is about a few things, not everything
        chosen[rng.randrange(words)] = rng.choice(TOPICS)
    for name in rng.sample(NAMES, 3):
        chosen[rng.randrange(words)] = name
    sentences = [" ".join(chosen[i : i + 18]).capitalize() + "." for i in range(0, words, 18)]
    return "\n\n".join(" ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4))


def _documents(rng: random.Random, source: int, first: int, count: int) -> list[Document]:
    return [
        Document(
            id=f"doc-{n:06d}",
            source_id=f"source-{source:04d}",
            url=f"https://www.example.org/{source}/{n}",
            title=" ".join(rng.sample(COMMON, 6)).capitalize(),
            kind=rng.choice(KINDS),
            published_at=NOW - timedelta(minutes=37 * n),
            body=_text(rng, rng.randint(300, 900)),
            content_hash=f"h{n}",
            fetched_at=NOW,
        )
        for n in range(first, first + count)
    ]


def fill(store: Store, docs: int, sources: int, rng: random.Random) -> None:
    """Documents, matches, alerts with attempts, poll history, failing sources, and
    doc-000000 edited (2 versions)."""
    rules = RuleSet(
        [Rule(id=i, name=i, query=q, ast=parse_query(q), notify=("desk",)) for i, q in RULES]
    )
    per_source = max(1, docs // sources)
    first: Document | None = None  # edited at the end: a document with 2 versions
    with store.engine.begin() as conn:  # the polls before the last: POLLS_KEPT in all
        conn.execute(
            insert(source_polls),
            [
                {
                    "source_id": f"source-{s:04d}",
                    "started_at": NOW - timedelta(minutes=10 * (POLLS_KEPT - n) + s),
                    "duration": 0.2,
                    "status": "ok",
                    "http_status": 200,
                    "new": 1,
                    "updated": 0,
                    "unchanged": 19,
                    "item_count": 20,
                }
                for s in range(sources)
                for n in range(POLLS_KEPT - 4)
            ],
        )
    for s in range(sources):
        batch = _documents(rng, s, s * per_source, per_source)
        first = first or batch[0]
        store.record_poll(
            f"source-{s:04d}",
            batch,
            now=NOW - timedelta(minutes=30 + s),
            duration=0.4,
            http_status=200,
            item_count=per_source,
            match=rules.match,
            alerts=alert_maker(rules),
        )
    for s in range(0, sources, 10):  # one source in ten has failed 3 times since
        for n in range(3):
            store.record_failure(
                f"source-{s:04d}",
                "HTTP 503 Service Unavailable",
                now=NOW - timedelta(minutes=3 - n),
            )
    with store.engine.begin() as conn:  # each alert failed twice, then was delivered
        ids = list(conn.execute(select(outbox.c.id)).scalars())
        for result, error in (
            ("pending", "HTTP 503"),
            ("pending", "timed out"),
            ("delivered", None),
        ):
            write_attempts(conn, ids, NOW, result, error)
    assert first is not None
    edited = first.body.replace(".", ", the minister said.", 3)
    store.record_poll(
        first.source_id,
        [first.model_copy(update={"body": edited, "content_hash": "edited"})],
        now=NOW,
    )


def fill_large(store: Store, docs: int, rng: random.Random) -> float:
    """Documents only, 1,000 per source; stops after LARGE_FILL_LIMIT seconds. Returns the
    seconds it took."""
    started = time.perf_counter()
    for s, first in enumerate(range(0, docs, 1000)):
        if time.perf_counter() - started > LARGE_FILL_LIMIT:
            break
        batch = _documents(rng, s, first, min(1000, docs - first))
        for part in range(0, len(batch), 250):
            store.record_poll(batch[0].source_id, batch[part : part + 250], now=NOW)
    return time.perf_counter() - started


def median_ms(client: TestClient, path: str, runs: int) -> tuple[float, float, int]:
    """Median wall time and median CPU time (this process, all threads) in ms."""
    walls, cpus, status = [], [], 0
    for _ in range(runs):
        started, cpu = time.perf_counter(), time.process_time()
        response = client.get(path)
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
        status = response.status_code
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000, status


def print_pages(client: TestClient, pages: list[tuple[str, str, int]], runs: int) -> None:
    """Each page's median; a search also says how far it got within the app's budget."""
    print(f"{'page':36} {'median':>9} {'CPU':>9}  target")
    for label, path, target in pages:
        ms, cpu, status = median_ms(client, path, runs)
        verdict = "ok" if ms <= target and status == 200 else "OVER"
        searched = ""
        if "q=" in path:  # the same search as JSON: how far it got
            api = path.replace("/documents", "/api/documents").replace("/try", "/api/rules/try")
            found = client.get(api).json()
            searched = f", searched {found['searched']:,} of {found['stored']:,}"
        print(
            f"{label:36} {ms:6.0f} ms {cpu:6.0f} ms  ≤ {target} ms {verdict} "
            f"(HTTP {status}{searched})"
        )


def print_searches(store: Store) -> None:
    """Each of SEARCHES run whole: what a complete answer costs (the budget stops a loaded
    machine early)."""
    print(f"{'whole search (no budget)':36} {'wall':>9} {'CPU':>9}  matches, read / stored")
    for query in SEARCHES:
        rule = Rule(id="q", name="q", query=query, ast=parse_query(query))
        started, cpu = time.perf_counter(), time.process_time()
        result = search(store, [rule], DocumentFilter(), budget=3600.0)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        read = getattr(result, "read", None)  # None before the word index pre-filter
        print(
            f"{query:36} {wall * 1000:6.0f} ms {cpu * 1000:6.0f} ms  "
            f"{len(result.found('q')):,}, {'?' if read is None else f'{read:,}'} / "
            f"{result.total:,}"
        )


def app_for(store: Store, database: str, sources: int, tmp: str) -> TestClient:
    settings = Settings(database_url=database, config_dir=Path(tmp), _env_file=None)  # type: ignore[call-arg]
    live = Live(
        sources=tuple(f"source-{s:04d}" for s in range(sources)),
        scheduler=True,
        rules=3,
        # "ops" has no alert: its last attempts are looked for through every attempt.
        channels=(ChannelInfo("desk", "webhook"), ChannelInfo("ops", "email")),
    )
    app = create_app(settings, store, lambda: live, clock=lambda: NOW)
    return TestClient(app, base_url="http://127.0.0.1")


def pages_10k(store: Store, database: str, args: argparse.Namespace, tmp: str) -> None:
    started = time.perf_counter()
    if not store.count_documents():
        fill(store, args.docs, args.sources, random.Random(12))
    print(
        f"\n{store.count_documents():,} documents from {args.sources:,} sources "
        f"(filled in {time.perf_counter() - started:.0f} s)"
    )
    took = []  # first, so that every run shows the pages the same sources failing
    for n in range(200):
        begun = time.perf_counter()
        store.record_failure(f"source-{n % 50:04d}", "HTTP 500", now=NOW + timedelta(seconds=n))
        took.append((time.perf_counter() - begun) * 1000)
    print(f"record a failed poll beside the poll history: median {statistics.median(took):.1f} ms")
    pages = [
        ("overview", "/", 200),
        ("GET /api/sources", "/api/sources", 200),
        ("GET /api/channels", "/api/channels", 200),
        ("healthz", "/healthz", 200),
        ("source (failing, 100 polls)", "/sources/source-0000", 200),
        ("source", "/sources/source-0001", 200),
        ("alerts", "/alerts", 200),
        ("alerts, filtered", "/alerts?rule=envoy&status=pending", 200),
        ("documents", "/documents", 200),
        ("documents, filtered", "/documents?kind=Statement&since=2026-11-01", 200),
        ("document, 2 versions", "/documents/doc-000000", 200),
        *search_pages(),
    ]
    with app_for(store, database, args.sources, tmp) as client:
        client.get("/")  # warm up: templates compiled, connections open
        print_pages(client, pages, args.runs)
    print_searches(store)


def search_pages() -> list[tuple[str, str, int]]:
    return [
        ("documents, word search 'Pyongyang'", "/documents?q=Pyongyang", 1000),
        ("documents, word search 'envoy'", "/documents?q=envoy", 1000),
        (f"try '{COMMON_QUERY}'", f"/try?q={COMMON_QUERY}", 1000),
        ("try 'envoy'", "/try?q=envoy", 1000),
        ("try 'NOT minister' (every document read)", "/try?q=NOT minister", 1000),
    ]


def searches_large(store: Store, database: str, args: argparse.Namespace, tmp: str) -> None:
    took = 0.0
    if store.count_documents() < args.large:
        took = fill_large(store, args.large, random.Random(13))
    stored = store.count_documents()
    print(f"\n{stored:,} documents (filled in {took:.0f} s)")
    if stored < args.large:
        print(
            f"generating {args.large:,} documents takes over {LARGE_FILL_LIMIT:.0f} s here: "
            f"stopped at {stored:,}; the figures below are at {stored:,}"
        )
    pages = [(label, path, 5000) for label, path, _ in search_pages()]
    with app_for(store, database, args.large // 1000, tmp) as client:
        client.get("/try")
        print_pages(client, pages, max(1, args.runs // 2))
    print_searches(store)


def databases(args: argparse.Namespace, tmp: str) -> Iterator[str]:
    """Each part's database URL: SQLite files, or schemas of the PostgreSQL database given
    (dropped after unless --keep)."""
    names = ["web_10k", "web_large"][: 2 if args.large else 1]
    if args.postgresql is None:
        where = args.keep or Path(tmp)
        yield from (f"sqlite:///{where / name}.db" for name in names)
        return
    admin = create_engine(args.postgresql)
    for name in names:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "bench_{name}"'))
        try:
            yield f"{args.postgresql}?options=-csearch_path%3Dbench_{name}"
        finally:
            if not args.keep:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "bench_{name}" CASCADE'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--sources", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--large", type=int, default=100_000, help="0: skip part 2")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the databases (here)")
    parser.add_argument("--postgresql", metavar="URL", help="a database to fill instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for database, part in zip(databases(args, tmp), (pages_10k, searches_large), strict=False):
            store = Store.open(database)
            try:
                part(store, database, args, tmp)
            finally:
                store.close()
    print("\n(indicative: timed in-process on whatever else this machine runs)", file=sys.stderr)


if __name__ == "__main__":
    main()
