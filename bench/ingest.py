"""Ingest benchmark: N generated feeds on loopback servers, two poll cycles.

Prints the first cycle's wall time and CPU, items/s, the second (all-304) cycle's wall
time and CPU, and peak RSS. The feed servers run in a child process, so the CPU and RSS
figures are the poller's own. Targets (issue #2): a 1,000-feed cycle in ≤ 5 s wall,
the all-304 cycle ≤ 5% of the first cycle's CPU, peak RSS ≤ 150 MB.

    python bench/ingest.py [--feeds 1000] [--items 20] [--latency 0.1] [--hosts 100]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from multiprocessing.connection import Connection
from pathlib import Path

from monitor.fetch import Fetcher
from monitor.fixture_server import FixtureServer, Route
from monitor.pipeline import PollContext, run_sources
from monitor.settings import Settings
from monitor.sources.rss import RssOptions
from monitor.store import Store

WORDS = (
    "the secretary met special representative sanctions alliance talks ministry statement "
    "security council nuclear missile envoy regime pressure agreement cooperation summit "
    "officials said on tuesday delegation peninsula denuclearization economic measures"
).split()


def _sentence(seed: int, words: int) -> str:
    return " ".join(WORDS[(seed * 7 + i * 13) % len(WORDS)] for i in range(words)).capitalize()


def make_feed(feed: int, items: int, content_words: int) -> bytes:
    """A news-style RSS 2.0 feed with `items` entries (content:encoded if content_words)."""
    base = datetime(2018, 11, 20, 12, tzinfo=UTC)
    entries = []
    for i in range(items):
        seed = feed * 1000 + i
        content = ""
        if content_words:
            paragraphs = "".join(
                f"<p>{_sentence(seed + p, 40)}.</p>" for p in range(max(1, content_words // 40))
            )
            content = f"<content:encoded><![CDATA[{paragraphs}]]></content:encoded>"
        entries.append(
            f"<item><title>Release {feed}-{i}: {_sentence(seed, 8)}</title>"
            f"<link>https://news{feed % 97}.example.org/{feed}/{i}/?utm_source=rss</link>"
            f'<guid isPermaLink="false">feed-{feed}-item-{i}</guid>'
            f"<pubDate>{format_datetime(base - timedelta(minutes=seed % 5000))}</pubDate>"
            f"<category>World</category><dc:creator>Staff Writer</dc:creator>"
            f"<description>{_sentence(seed, 45)}.</description>{content}</item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>Feed {feed}</title><link>https://news.example.org/</link>"
        f"<description>Generated feed {feed}</description>{''.join(entries)}</channel></rss>"
    ).encode()


def serve(args: argparse.Namespace, pipe: Connection) -> None:
    """Child process: one server per loopback address, feeds spread over them."""
    servers = [FixtureServer(host=f"127.0.0.{h + 2}").start() for h in range(args.hosts)]
    urls = []
    for feed in range(args.feeds):
        server = servers[feed % args.hosts]
        path = f"/feed/{feed}.xml"
        server.routes[path] = Route(
            body=make_feed(feed, args.items, args.content_words),
            content_type="application/rss+xml; charset=utf-8",
            delay=args.latency,
        )
        urls.append(server.url(path))
    pipe.send(urls)
    pipe.recv()  # wait until the parent is done
    for server in servers:
        server.stop()


def _cpu(executor: ProcessPoolExecutor | None) -> float:
    """CPU seconds of this process plus its parse workers (not the feed servers)."""
    total = time.process_time()
    ticks = os.sysconf("SC_CLK_TCK")
    for pid in getattr(executor, "_processes", None) or {}:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


async def cycle(sources: list[RssOptions], ctx: PollContext) -> tuple[float, float, int, int]:
    assert ctx.executor is None or isinstance(ctx.executor, ProcessPoolExecutor)
    wall, cpu = time.perf_counter(), _cpu(ctx.executor)
    results = await run_sources(sources, ctx)
    wall, cpu = time.perf_counter() - wall, _cpu(ctx.executor) - cpu
    errors = sum(r.status == "error" for r in results)
    new = sum(r.count("new") for r in results)
    if errors:
        first = next(r for r in results if r.status == "error")
        print(f"  {errors} source errors, e.g. {first.source_id}: {first.error}")
    return wall, cpu, new, sum(r.status == "not_modified" for r in results)


async def run(args: argparse.Namespace, urls: list[str], database_url: str) -> None:
    settings = Settings(database_url=database_url, parse_workers=args.parse_workers)
    store = Store.open(database_url)
    sources = [RssOptions(id=f"feed-{i}", type="rss", url=url) for i, url in enumerate(urls)]
    executor = ProcessPoolExecutor(args.parse_workers) if args.parse_workers else None
    if executor:  # start the workers before timing
        list(executor.map(abs, range(args.parse_workers)))
    async with Fetcher(settings) as fetcher:
        ctx = PollContext(fetcher=fetcher, store=store, executor=executor)
        wall1, cpu1, new, _ = await cycle(sources, ctx)
        wall2, cpu2, _, not_modified = await cycle(sources, ctx)
    store.close()
    if executor:
        executor.shutdown()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    total = args.feeds * args.items
    print(
        f"feeds={args.feeds} items/feed={args.items} hosts={args.hosts} "
        f"latency={args.latency * 1000:.0f}ms content_words={args.content_words} "
        f"parse_workers={args.parse_workers} "
        f"host_concurrency={settings.host_concurrency} host_delay={settings.host_delay}s"
    )
    print(
        f"cycle 1: wall {wall1:.2f} s, cpu {cpu1:.2f} s, {new}/{total} new documents, "
        f"{total / wall1:,.0f} items/s"
    )
    print(
        f"cycle 2: wall {wall2:.2f} s, cpu {cpu2:.3f} s, {not_modified} not modified (304), "
        f"cpu ratio {cpu2 / cpu1:.1%} of cycle 1"
    )
    print(
        f"peak RSS {peak_mb:.0f} MB (poller)"
        + (f", largest parse worker {workers_mb:.0f} MB" if executor else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per response")
    parser.add_argument("--hosts", type=int, default=100, help="loopback addresses to spread over")
    parser.add_argument(
        "--content-words",
        type=int,
        default=0,
        help="full text per item in content:encoded (0: description only)",
    )
    parser.add_argument("--parse-workers", type=int, default=0)
    parser.add_argument("--profile", metavar="FILE", help="write cProfile stats of the poller")
    args = parser.parse_args()
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(args, child))
    server.start()
    urls = parent.recv()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            job = run(args, urls, f"sqlite:///{tmp}/bench.db")
            if args.profile:
                import cProfile

                cProfile.runctx("asyncio.run(job)", globals(), {"job": job}, args.profile)
            else:
                asyncio.run(job)
    finally:
        parent.send("done")
        server.join(timeout=30)


if __name__ == "__main__":
    main()
