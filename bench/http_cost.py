"""Per-request CPU of a 304: httpx alone, beside monitor's Fetcher (politeness, checks).

Serves the feeds of bench/peers.py from a child process with no latency, then asks each
client for N conditional GETs (all answered 304) at a given concurrency over keep-alive
connections, and prints the CPU per request of this process (the server's is not
counted). The difference between the two rows is what the Fetcher adds to httpx.

    python bench/http_cost.py [--requests 3000] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import time
import urllib.request
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers  # noqa: E402

from monitor.fetch import Fetcher, Validators  # noqa: E402
from monitor.settings import Settings  # noqa: E402


async def etags(port: int, feeds: int) -> list[str]:
    async with httpx.AsyncClient() as client:
        answers = [await client.get(f"http://127.0.0.1:{port}/feed/{i}.xml") for i in range(feeds)]
    return [a.headers["ETag"] for a in answers]


async def with_httpx(urls: list[str], tags: list[str], concurrency: int) -> float:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits) as client:
        gate = asyncio.Semaphore(concurrency)

        async def one(url: str, tag: str) -> None:
            async with gate:
                response = await client.get(url, headers={"If-None-Match": tag})
                assert response.status_code == 304

        started = time.process_time()
        await asyncio.gather(*(one(u, t) for u, t in zip(urls, tags, strict=True)))
        return time.process_time() - started


async def with_fetcher(urls: list[str], tags: list[str], concurrency: int) -> float:
    settings = Settings(host_concurrency=concurrency, host_delay=0)
    async with Fetcher(settings) as fetcher:
        started = time.process_time()
        results = await asyncio.gather(
            *(fetcher.fetch(u, Validators(etag=t)) for u, t in zip(urls, tags, strict=True))
        )
        assert all(r.not_modified for r in results)
        return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(
        target=peers.serve, args=(args.feeds, 20, 0.0, child)
    )
    server.start()
    port = parent.recv()
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/_version/0", timeout=10).read()
        tags = asyncio.run(etags(port, args.feeds))
        urls = [f"http://127.0.0.1:{port}/feed/{i % args.feeds}.xml" for i in range(args.requests)]
        tags = [tags[i % args.feeds] for i in range(args.requests)]
        for name, run in (("httpx alone", with_httpx), ("monitor Fetcher", with_fetcher)):
            cpu = min(asyncio.run(run(urls, tags, args.concurrency)) for _ in range(3))
            print(f"{name:<16} {cpu / args.requests * 1e6:7.0f} µs CPU per 304 (best of 3)")
    finally:
        parent.send("done")
        server.join(timeout=30)


if __name__ == "__main__":
    main()
