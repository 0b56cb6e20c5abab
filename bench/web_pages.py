"""Web pages benchmark: the median time of each page with 10,000 documents and 1,000 sources.

Fills a temporary SQLite database through the store (as polls do: documents, matches,
alerts, poll history), then requests each page in-process through the ASGI app
(Starlette's TestClient) and prints the median of several runs. Targets (issue #12): every
page ≤ 200 ms; "try a rule" ≤ 1 s over 10,000 documents (it stops after its budget and
says how far it got).

    python bench/web_pages.py [--docs 10000] [--sources 1000] [--runs 7] [--keep FILE]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from starlette.testclient import TestClient

from monitor.alerts.routing import alert_maker
from monitor.models import Document
from monitor.rules import Rule, RuleSet, parse_query
from monitor.settings import Settings
from monitor.store import Store
from monitor.store.outbox import write_attempts
from monitor.store.tables import outbox
from monitor.web import Live, create_app
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
KINDS = ("Press Release", "Media Note", "Statement", "Readout", "Speech")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
COMMON_QUERY = "sanction* AND minister"  # "try a rule": a query people start from
RULES = [
    ("sanctions", "sanction* NEAR/6 (impos* OR lift*)"),
    ("envoy", "envoy AND (Seoul OR Tokyo)"),
    ("missiles", '"missile launch"'),
]


def _text(rng: random.Random, words: int, names: list[str]) -> str:
    chosen = rng.choices(COMMON, k=words)
    for _ in range(rng.randint(1, 4)):  # a release is about a few things, not everything
        chosen[rng.randrange(words)] = rng.choice(TOPICS)
    for name in rng.sample(names, 3):
        chosen[rng.randrange(words)] = name
    sentences = [" ".join(chosen[i : i + 18]).capitalize() + "." for i in range(0, words, 18)]
    return "\n\n".join(" ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4))


def fill(store: Store, docs: int, sources: int, rng: random.Random) -> tuple[str, str]:
    """Documents, matches, alerts and polls; returns (a source id, a document with 2
    versions)."""
    names = ["Seoul", "Tokyo", "Biegun", "Pyongyang", "Brussels", "Kyiv", "Caracas", "Minsk"]
    rules = RuleSet(
        [Rule(id=i, name=i, query=q, ast=parse_query(q), notify=("desk",)) for i, q in RULES]
    )
    per_source = max(1, docs // sources)
    first: Document | None = None  # edited at the end: a document with 2 versions
    for s in range(sources):
        batch = []
        for k in range(per_source):
            n = s * per_source + k
            batch.append(
                Document(
                    id=f"doc-{n:06d}",
                    source_id=f"source-{s:04d}",
                    url=f"https://www.example.org/{s}/{n}",
                    title=" ".join(rng.sample(COMMON, 6)).capitalize(),
                    kind=rng.choice(KINDS),
                    published_at=NOW - timedelta(minutes=37 * n),
                    body=_text(rng, rng.randint(300, 900), names),
                    content_hash=f"h{n}",
                    fetched_at=NOW,
                )
            )
        store.record_poll(
            f"source-{s:04d}",
            batch,
            now=NOW - timedelta(minutes=s),
            duration=0.4,
            http_status=200,
            item_count=per_source,
            match=rules.match,
            alerts=alert_maker(rules),
        )
        first = first or batch[0]
    with store.engine.begin() as conn:  # each alert failed twice, then was delivered
        ids = list(conn.execute(select(outbox.c.id)).scalars())
        for result, error in (
            ("pending", "HTTP 503"),
            ("pending", "timed out"),
            ("delivered", None),
        ):
            write_attempts(conn, ids, NOW, result, error)
    changed = first
    assert changed is not None
    edited = changed.body.replace(".", ", the minister said.", 3)
    store.record_poll(
        changed.source_id,
        [changed.model_copy(update={"body": edited, "content_hash": "edited"})],
        now=NOW,
    )
    return changed.source_id, changed.id


def median_ms(client: TestClient, path: str, runs: int) -> tuple[float, float, int]:
    """Median wall time and median CPU time (this process, all threads) in ms: on a shared
    machine the CPU time says what a quiet one would take."""
    walls, cpus, status = [], [], 0
    for _ in range(runs):
        started, cpu = time.perf_counter(), time.process_time()
        response = client.get(path)
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
        status = response.status_code
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000, status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--sources", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--keep", type=Path, metavar="FILE", help="fill this SQLite file once, reuse it after"
    )
    args = parser.parse_args()
    rng = random.Random(12)
    with tempfile.TemporaryDirectory() as tmp:
        database = f"sqlite:///{args.keep or Path(tmp) / 'monitor.db'}"
        store = Store.open(database)
        started = time.perf_counter()
        if store.count_documents():
            source_id, doc_id = "source-0000", "doc-000000"  # as fill() made them
        else:
            source_id, doc_id = fill(store, args.docs, args.sources, rng)
        print(
            f"{store.count_documents():,} documents from {args.sources:,} sources "
            f"(filled in {time.perf_counter() - started:.0f} s)",
            file=sys.stderr,
        )
        settings = Settings(database_url=database, config_dir=Path(tmp))  # type: ignore[call-arg]
        live = Live(
            sources=tuple(f"source-{s:04d}" for s in range(args.sources)),
            # "ops" has no alert: its last attempts are looked for through every attempt.
            channels=(ChannelInfo("desk", "webhook"), ChannelInfo("ops", "email")),
        )
        app = create_app(settings, store, lambda: live)
        pages = [
            ("overview", "/", 200),
            ("channels (JSON)", "/api/channels", 200),
            ("healthz", "/healthz", 200),
            ("source", f"/sources/{source_id}", 200),
            ("alerts", "/alerts", 200),
            ("alerts, filtered", "/alerts?rule=envoy&status=pending", 200),
            ("documents", "/documents", 200),
            ("documents, filtered", "/documents?kind=Statement&since=2026-11-01", 200),
            ("document, 2 versions", f"/documents/{doc_id}", 200),
            ("documents, word search", "/documents?q=Pyongyang", 1000),
            (f"try '{COMMON_QUERY}'", f"/try?q={COMMON_QUERY}", 1000),
            ("try 'envoy'", "/try?q=envoy", 1000),
        ]
        with TestClient(app, base_url="http://127.0.0.1") as client:
            client.get("/")  # warm up: templates compiled, connections open
            print(f"{'page':32} {'median':>9} {'CPU':>9}  target")
            for label, path, target in pages:
                ms, cpu, status = median_ms(client, path, args.runs)
                verdict = "ok" if ms <= target and status == 200 else "OVER"
                print(
                    f"{label:32} {ms:6.0f} ms {cpu:6.0f} ms  ≤ {target} ms {verdict} "
                    f"(HTTP {status})"
                )
            api = client.get("/api/rules/try", params={"q": COMMON_QUERY}).json()
            print(
                f"try: {api['total']:,} matches, searched {api['searched']:,} of "
                f"{api['stored']:,} in {api['seconds']:.2f} s"
            )
            # The whole search without the budget: its CPU time is what a quiet machine
            # would take (the budget stops a loaded one early).
            app.state.search_budget = 600.0
            for query in (COMMON_QUERY, "envoy", "Pyongyang"):
                wall, cpu, _ = median_ms(client, f"/api/rules/try?q={query}", 1)
                found = client.get("/api/rules/try", params={"q": query}).json()
                print(
                    f"whole search '{query}': {found['total']:,} matches in "
                    f"{found['searched']:,} documents, {wall:.0f} ms ({cpu:.0f} ms CPU)"
                )
        store.close()


if __name__ == "__main__":
    main()
