"""Web pages benchmark: time to answer the overview and a source's page, and what the poll
history adds to recording a poll.

A SQLite store is filled with N sources (each with a full poll history: 100 polls, some
failing) and M documents, then the overview (`/`), `/api/sources` and one source's page
are requested through the app (Starlette's TestClient: no network, the whole app stack)
R times each; prints p50/p95 in ms. Target (issue #12): a page in ≤ 200 ms with 10,000
documents and 1,000 sources. Last, the time to record a failed poll is measured with the
history (an INSERT and a pruning DELETE in the same transaction).

    python bench/web.py [--sources 1000] [--documents 10000] [--requests 20]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert
from starlette.testclient import TestClient

from monitor.settings import Settings
from monitor.store import Store
from monitor.store.polls import POLLS_KEPT
from monitor.store.tables import document_versions, documents, source_polls, source_state
from monitor.web import Live, create_app

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def fill(store: Store, sources: int, docs: int) -> list[str]:
    ids = [f"source-{i:04d}" for i in range(sources)]
    with store.engine.begin() as conn:
        conn.execute(
            insert(source_state),
            [
                {
                    "source_id": s,
                    "last_polled_at": NOW,
                    "last_success_at": NOW - timedelta(hours=i % 7),
                    "last_status": "error" if i % 10 == 0 else "ok",
                    "consecutive_failures": 3 if i % 10 == 0 else 0,
                    "last_error": "HTTP 503 Service Unavailable" if i % 10 == 0 else None,
                    "last_item_count": 20,
                }
                for i, s in enumerate(ids)
            ],
        )
        polls = [
            {
                "source_id": s,
                "started_at": NOW - timedelta(minutes=10 * (POLLS_KEPT - n)),
                "duration": 0.2,
                "status": "error" if i % 10 == 0 and n > POLLS_KEPT - 4 else "ok",
                "http_status": 200,
                "new": 1,
                "updated": 0,
                "unchanged": 19,
                "item_count": 20,
            }
            for i, s in enumerate(ids)
            for n in range(POLLS_KEPT)
        ]
        for start in range(0, len(polls), 5000):
            conn.execute(insert(source_polls), polls[start : start + 5000])
        rows, versions = [], []
        for d in range(docs):
            doc_id = hashlib.sha256(str(d).encode()).hexdigest()[:24]
            when = NOW - timedelta(minutes=d)
            source = ids[d % sources]
            rows.append(
                {
                    "id": doc_id,
                    "source_id": source,
                    "url": f"https://e.org/{d}",
                    "title": f"Release {d}",
                    "kind": "Press Release",
                    "published_at": when,
                    "version": 1,
                    "content_hash": doc_id,
                    "first_seen_at": when,
                    "last_seen_at": when,
                }
            )
            versions.append(
                {
                    "document_id": doc_id,
                    "version": 1,
                    "content_hash": doc_id,
                    "fetched_at": when,
                    "data": {"id": doc_id, "title": f"Release {d}"},
                }
            )
        for start in range(0, docs, 5000):
            conn.execute(insert(documents), rows[start : start + 5000])
            conn.execute(insert(document_versions), versions[start : start + 5000])
    return ids


def timed(client: TestClient, path: str, times: int) -> tuple[float, float]:
    took = []
    for _ in range(times):
        started = time.perf_counter()
        response = client.get(path)
        took.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    took.sort()
    return statistics.median(took), took[max(0, int(len(took) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{tmp}/monitor.db", _env_file=None)  # type: ignore[call-arg]
        store = Store.open(settings.database_url)
        started = time.perf_counter()
        ids = fill(store, args.sources, args.documents)
        print(
            f"filled {args.sources} sources ({args.sources * POLLS_KEPT} polls) and "
            f"{args.documents} documents in {time.perf_counter() - started:.1f} s"
        )
        live = Live(sources=tuple(ids), scheduler=True, rules=10)
        app = create_app(settings, store, lambda: live, clock=lambda: NOW)
        with TestClient(app, base_url="http://127.0.0.1") as client:
            client.get("/")  # templates compiled, connections opened
            for path in ("/", "/api/sources", f"/sources/{ids[0]}", f"/sources/{ids[1]}"):
                p50, p95 = timed(client, path, args.requests)
                print(f"GET {path:<22} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms")
        took = []
        for n in range(200):
            begun = time.perf_counter()
            store.record_failure(ids[n % 50], "HTTP 500", now=NOW + timedelta(seconds=n))
            took.append((time.perf_counter() - begun) * 1000)
        print(f"record_failure with the poll history: p50 {statistics.median(took):.2f} ms")
        store.close()


if __name__ == "__main__":
    main()
