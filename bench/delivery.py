"""Delivery benchmark: alerts/s to a loopback webhook, and match → receipt latency.

Throughput: N alerts are queued (through the real store path: documents matched by a rule
that notifies a webhook channel), then delivery runs until the outbox is empty; prints
alerts/s. Latency: documents arrive in small batches; each batch is matched, stored and
delivered at once, as a poll followed by the delivery worker would; the time from the
store's commit of the match to the receiver reading the request is measured per alert
(p50/p95). Targets (issue #4): ≥ 200 webhook alerts/s; p95 ≤ 500 ms with no digest.

    python bench/delivery.py [--alerts 2000] [--batches 50] [--batch-size 10]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler

from monitor.alerts.routing import alert_maker
from monitor.alerts.webhook import WebhookChannel, WebhookOptions
from monitor.alerts.worker import deliver_due
from monitor.fixture_server import FixtureServer
from monitor.models import Document
from monitor.rules import Rule, RuleSet, parse_query
from monitor.settings import Settings
from monitor.store import Store


class Receiver:
    """Counts webhook requests and when each arrived (monotonic clock)."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.lock = threading.Lock()

    def __call__(self, req: BaseHTTPRequestHandler) -> None:
        key = req.headers.get("Idempotency-Key", "")
        with self.lock:
            self.arrived[key] = time.monotonic()
        req.send_response(200)
        req.send_header("Content-Length", "0")
        req.end_headers()


def documents(start: int, count: int) -> list[Document]:
    now = datetime.now(UTC)
    return [
        Document(
            id=f"doc-{i}",
            source_id="bench",
            url=f"https://e.org/{i}",
            title=f"Release {i}: envoy Biegun meets allies",
            body="Special Representative Biegun met his counterpart. " * 20,
            content_hash=f"h{i}",
            fetched_at=now,
        )
        for i in range(start, start + count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alerts", type=int, default=2000)
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=10)
    args = parser.parse_args()
    receiver = Receiver()
    with FixtureServer({"/hook": receiver}) as server, tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{tmp}/bench.db")
        store = Store.open(settings.database_url)
        rules = RuleSet(
            [Rule("biegun", "Biegun", "biegun", parse_query("biegun"), notify=("hook",))]
        )
        channel = WebhookChannel(
            "hook", WebhookOptions(type="webhook", url=server.url("/hook")), settings
        )
        channels = {"hook": channel}

        def enqueue(docs: list[Document]) -> float:
            store.record_poll(
                "bench", docs, now=datetime.now(UTC), match=rules.match, alerts=alert_maker(rules)
            )
            return time.monotonic()  # the match is committed

        # Throughput
        for start in range(0, args.alerts, 500):
            enqueue(documents(start, min(500, args.alerts - start)))
        began = time.perf_counter()
        sent = 0
        while True:
            deliveries = asyncio.run(deliver_due(store, channels, settings))
            if not deliveries:
                break
            sent += sum(d.status == "delivered" for d in deliveries)
        elapsed = time.perf_counter() - began
        print(
            f"throughput: {sent} webhook alerts in {elapsed:.2f} s = "
            f"{sent / elapsed:,.0f} alerts/s (loopback receiver, SQLite outbox)"
        )

        # Latency: poll-sized batches, delivered right after they are stored
        latencies: list[float] = []
        offset = args.alerts
        for batch in range(args.batches):
            docs = documents(offset + batch * args.batch_size, args.batch_size)
            committed = enqueue(docs)
            asyncio.run(deliver_due(store, channels, settings))
            keys = [k for k, t in receiver.arrived.items() if t >= committed]
            latencies += [receiver.arrived[k] - committed for k in keys]
        latencies.sort()
        p50 = statistics.median(latencies) * 1000
        p95 = latencies[int(len(latencies) * 0.95) - 1] * 1000
        print(
            f"latency match → webhook received: p50 {p50:.1f} ms, p95 {p95:.1f} ms "
            f"({len(latencies)} alerts in {args.batches} batches of {args.batch_size})"
        )
        store.close()


if __name__ == "__main__":
    main()
