"""Faults a real site throws at the fetcher, each through a real loopback server.

Every fetch must end within a bound (asserted, generous: the machine running the tests
is shared) with an error that says what happened, and hostile bodies must not take more
memory than the size cap allows.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path

import brotli
import pytest

from monitor.errors import FetchError
from monitor.fetch import Fetcher
from monitor.fixture_server import FixtureServer, Route
from monitor.settings import Settings
from monitor.sources.rss import RssOptions
from monitor.store import Store
from tests.conftest import fast_settings, poll

MB = 1024 * 1024
Respond = Callable[[str, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def raw_server(respond: Respond) -> AsyncIterator[str]:
    """An HTTP server written on raw sockets, so a test can misbehave at any byte."""
    connections: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        connections.add(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                await respond(head.split(b" ", 2)[1].decode(), writer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.transport.abort()
            connections.discard(task)

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        for task in list(connections):
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)


def head(status: str = "200 OK", **headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status}", "Content-Type: application/rss+xml"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def timed_fetch(settings: Settings, respond: Respond, path: str = "/feed") -> tuple[str, float]:
    """Fetch from a raw server; the error message and the seconds the fetch took."""

    async def run() -> tuple[str, float]:
        async with raw_server(respond) as base, Fetcher(settings) as fetcher:
            started = time.monotonic()
            with pytest.raises(FetchError) as caught:
                await fetcher.fetch(base + path)
            return str(caught.value), time.monotonic() - started

    return asyncio.run(run())


def quick(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {"fetch_deadline": 2.0, "fetch_read_timeout": 1.0}
    return fast_settings(tmp_path, **{**values, **overrides})


def test_feed_that_hangs_after_its_headers(tmp_path: Path) -> None:
    async def respond(path: str, writer: asyncio.StreamWriter) -> None:
        writer.write(head(Content_Length="1000"))
        await writer.drain()
        await asyncio.Event().wait()  # never a byte of body

    message, took = timed_fetch(quick(tmp_path), respond)
    assert "timed out" in message or "no complete answer within 2 s" in message
    assert took < 8  # one 2 s deadline for all attempts


def test_feed_that_trickles_a_byte_a_second_gets_one_deadline_for_all_attempts(
    tmp_path: Path,
) -> None:
    async def respond(path: str, writer: asyncio.StreamWriter) -> None:
        writer.write(head(Content_Length="1000"))
        while True:  # each byte arrives before the read timeout: only the deadline stops it
            writer.write(b"<")
            await writer.drain()
            await asyncio.sleep(0.3)

    # Five attempts of 2 s each would take 10 s; the deadline is per fetch, retries included.
    message, took = timed_fetch(quick(tmp_path, fetch_attempts=5), respond)
    assert message == "no complete answer within 2 s"
    assert took < 6


def test_feed_that_resets_the_connection_mid_body(tmp_path: Path) -> None:
    async def respond(path: str, writer: asyncio.StreamWriter) -> None:
        writer.write(head(Content_Length="100000") + b"<rss>" * 100)
        await writer.drain()
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()  # with SO_LINGER 0: a TCP reset, not a clean close
        raise ConnectionResetError

    message, took = timed_fetch(quick(tmp_path), respond)
    assert message.startswith("connection failed")
    assert took < 6


@pytest.mark.parametrize("declared", [False, True], ids=["endless", "declared-100MB"])
def test_endless_or_100_mb_body_is_cut_at_the_cap(tmp_path: Path, declared: bool) -> None:
    async def respond(path: str, writer: asyncio.StreamWriter) -> None:
        length = {"Content_Length": str(100 * MB)} if declared else {"Transfer_Encoding": "chunked"}
        writer.write(head(**length))
        block = b"<item>" + b"x" * 65536 + b"</item>"
        for _ in range(100 * MB // len(block) + 1):  # the declared case stops early
            writer.write(block if declared else b"%x\r\n%s\r\n" % (len(block), block))
            await writer.drain()

    message, took = timed_fetch(quick(tmp_path, fetch_max_bytes=MB), respond)
    assert "exceeds the 1 MB cap" in message
    assert took < 6


@cache
def gzip_bomb() -> bytes:
    """100 MB of zeros in ~100 KB of gzip."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(MB)
    return b"".join([packer.compress(zeros) for _ in range(100)] + [packer.flush()])


@cache
def brotli_bomb() -> bytes:
    """256 MB of zeros in ~50 KB of brotli."""
    packer = brotli.Compressor(quality=1)
    zeros = bytes(MB)
    return b"".join([packer.process(zeros) for _ in range(256)] + [packer.finish()])


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_decompression_bomb_is_stopped_at_the_cap_within_bounded_memory(
    tmp_path: Path, encoding: str
) -> None:
    bomb = gzip_bomb() if encoding == "gzip" else brotli_bomb()

    async def respond(path: str, writer: asyncio.StreamWriter) -> None:
        writer.write(head(Content_Length=str(len(bomb)), Content_Encoding=encoding) + bomb)
        await writer.drain()

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        message, took = timed_fetch(quick(tmp_path, fetch_max_bytes=MB), respond)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * MB, f"peak {peak / MB:.0f} MB"
    assert message == "response exceeds the 1 MB cap once decompressed; stopped reading"
    assert took < 6


def test_redirect_loop_ends_at_the_redirect_limit(tmp_path: Path) -> None:
    hops: list[str] = []

    async def respond(path: str, writer: asyncio.StreamWriter) -> None:
        hops.append(path)
        writer.write(head("302 Found", Location=f"/loop{len(hops)}", Content_Length="0"))

    message, took = timed_fetch(quick(tmp_path), respond, "/loop")
    assert message == "more than 5 redirects (redirect loop?)"
    assert len(hops) == 6
    assert took < 6


def _feed(links: list[str]) -> bytes:
    items = "".join(
        f"<item><title>Release {n}</title><link>{link}</link><guid>g{n}</guid>"
        f"<description>Feed summary {n}</description></item>"
        for n, link in enumerate(links)
    )
    return f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>".encode()


def test_feed_links_and_redirects_to_private_addresses_are_not_followed(
    server: FixtureServer, tmp_path: Path
) -> None:
    """A third party's feed must not make the monitor fetch (and alert on) internal pages."""
    server.routes["/feed"] = Route(
        body=_feed([server.url("/internal"), "http://169.254.169.254/latest/meta-data/"]),
        content_type="application/rss+xml",
    )
    server.routes["/internal"] = Route(body=b"<html><body><p>internal page</p></body></html>")
    settings = quick(tmp_path)
    store = Store.open(settings.database_url)
    source = RssOptions(id="remote", type="rss", url=server.url("/feed"), follow_links=True)

    started = time.monotonic()
    [result] = poll([source], store, settings)
    assert time.monotonic() - started < 6
    assert server.requests_to("/internal") == []
    errors = "\n".join(result.item_errors)
    assert "127.0.0.1" in errors and "169.254.169.254" in errors
    assert errors.count("allow_private") == 2

    # The feed itself redirecting to an internal address is refused the same way.
    server.routes["/moved"] = Route(
        body=_feed([]), status=302, headers={"Location": server.url("/internal")}
    )
    moved = RssOptions(id="moved", type="rss", url=server.url("/moved"))
    [refused] = poll([moved], store, settings)
    assert refused.status == "error" and "allow_private" in (refused.error or "")
    assert server.requests_to("/internal") == []

    # A source that opts in reaches its own network.
    server.routes["/intranet"] = Route(
        body=_feed([server.url("/internal")]), content_type="application/rss+xml"
    )
    trusted = RssOptions(
        id="intranet", url=server.url("/intranet"), follow_links=True, allow_private=True
    )
    [ok] = poll([trusted], store, settings)
    assert not ok.item_errors
    assert len(server.requests_to("/internal")) == 1
    store.close()
