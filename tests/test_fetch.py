"""The fetcher against a real loopback server: limits, retries, conditional GET."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest

from monitor.errors import FetchError, TransientFetchError
from monitor.fetch import (
    Fetcher,
    FetchResult,
    HostPolicy,
    PerHostTransport,
    Permit,
    Validators,
)
from monitor.fixture_server import FixtureServer, Route
from monitor.settings import Settings
from tests.conftest import fast_settings


def fetch(settings: Settings, url: str, validators: Validators | None = None) -> FetchResult:
    async def run() -> FetchResult:
        async with Fetcher(settings) as fetcher:
            return await fetcher.fetch(url, validators)

    return asyncio.run(run())


def fetch_many(settings: Settings, urls: list[str]) -> list[FetchResult]:
    async def run() -> list[FetchResult]:
        async with Fetcher(settings) as fetcher:
            return list(await asyncio.gather(*(fetcher.fetch(u) for u in urls)))

    return asyncio.run(run())


def sequence(*responses: tuple[int, bytes, dict[str, str]]):  # type: ignore[no-untyped-def]
    """A handler answering with each response in turn (the last one repeats)."""
    calls = {"n": 0}

    def handler(req: BaseHTTPRequestHandler) -> None:
        status, body, headers = responses[min(calls["n"], len(responses) - 1)]
        calls["n"] += 1
        req.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **headers}.items():
            req.send_header(name, value)
        req.end_headers()
        req.wfile.write(body)

    return handler


def test_conditional_get_returns_304_with_validators(
    server: FixtureServer, settings: Settings
) -> None:
    server.routes["/feed"] = Route(body=b"<rss/>" * 200, content_type="application/rss+xml")
    first = fetch(settings, server.url("/feed"))
    assert first.status == 200 and first.content == b"<rss/>" * 200  # gzip decoded
    assert first.validators.etag and first.validators.last_modified
    second = fetch(settings, server.url("/feed"), first.validators)
    assert second.not_modified and second.content == b""
    seen = server.requests_to("/feed")[-1].headers
    assert seen["If-None-Match"] == first.validators.etag
    assert seen["If-Modified-Since"] == first.validators.last_modified
    assert seen["User-Agent"].startswith("monitor/")
    assert "gzip" in seen["Accept-Encoding"]


def test_5xx_is_retried_then_succeeds(server: FixtureServer, settings: Settings) -> None:
    server.routes["/flaky"] = sequence((500, b"", {}), (503, b"", {}), (200, b"ok", {}))
    result = fetch(settings, server.url("/flaky"))
    assert result.content == b"ok" and result.attempts == 3


def test_5xx_gives_up_after_the_configured_attempts(
    server: FixtureServer, settings: Settings
) -> None:
    server.routes["/down"] = sequence((500, b"boom", {}))
    with pytest.raises(FetchError, match="HTTP 500"):
        fetch(settings, server.url("/down"))
    assert len(server.requests_to("/down")) == settings.fetch_attempts


def test_429_honours_retry_after(server: FixtureServer, settings: Settings) -> None:
    server.routes["/busy"] = sequence((429, b"", {"Retry-After": "1"}), (200, b"ok", {}))
    started = time.monotonic()
    assert fetch(settings, server.url("/busy")).content == b"ok"
    assert time.monotonic() - started >= 0.9


def test_4xx_is_not_retried(server: FixtureServer, settings: Settings) -> None:
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch(settings, server.url("/missing"))
    assert len(server.requests_to("/missing")) == 1


def test_connection_refused(settings: Settings) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(FetchError, match="connection failed"):
        fetch(settings, f"http://127.0.0.1:{port}/feed")


def test_read_timeout(server: FixtureServer, tmp_path: Path) -> None:
    settings = fast_settings(tmp_path, fetch_read_timeout=0.2, fetch_attempts=2)
    server.routes["/slow"] = Route(body=b"late", delay=1.5)
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        fetch(settings, server.url("/slow"))
    assert time.monotonic() - started < 1.5


def _endless(req: BaseHTTPRequestHandler) -> None:
    """50 MB without a Content-Length, as a misbehaving server would send it."""
    req.send_response(200)
    req.send_header("Content-Type", "application/rss+xml")
    req.send_header("Connection", "close")
    req.end_headers()
    chunk = b"<item>" + b"x" * 65536 + b"</item>"
    try:
        for _ in range(50 * 1024 * 1024 // len(chunk)):
            req.wfile.write(chunk)
    except (BrokenPipeError, ConnectionResetError):
        req.server.sent_until_closed = True  # type: ignore[attr-defined]


def test_body_over_the_cap_is_cut_off_while_streaming(
    server: FixtureServer, tmp_path: Path
) -> None:
    settings = fast_settings(tmp_path, fetch_max_bytes=1024 * 1024)
    server.routes["/huge"] = _endless
    with pytest.raises(FetchError, match="exceeds the 1 MB cap; stopped reading"):
        fetch(settings, server.url("/huge"))


def test_declared_oversize_body_is_refused_before_reading(
    server: FixtureServer, settings: Settings
) -> None:
    server.routes["/declared"] = sequence((200, b"", {"Content-Length": str(50 * 1024 * 1024)}))
    # The handler lies about the length; the fetcher must not wait for 50 MB.
    with pytest.raises(FetchError, match="50 MB exceeds the 10 MB cap"):
        fetch(settings, server.url("/declared"))


def test_redirect_loop(server: FixtureServer, settings: Settings) -> None:
    server.routes["/loop"] = sequence((302, b"", {"Location": "/loop"}))
    with pytest.raises(FetchError, match="more than 5 redirects"):
        fetch(settings, server.url("/loop"))
    assert len(server.requests_to("/loop")) == 6


def test_redirect_is_followed(server: FixtureServer, settings: Settings) -> None:
    server.routes["/old"] = sequence((301, b"", {"Location": "/new"}))
    server.routes["/new"] = Route(body=b"moved")
    result = fetch(settings, server.url("/old"))
    assert result.content == b"moved" and result.url.endswith("/new")


def test_per_host_concurrency_limit(server: FixtureServer, tmp_path: Path) -> None:
    settings = fast_settings(tmp_path, host_concurrency=2)
    active = {"now": 0, "max": 0}
    lock = threading.Lock()

    def slow(req: BaseHTTPRequestHandler) -> None:
        with lock:
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])
        time.sleep(0.1)
        with lock:
            active["now"] -= 1
        sequence((200, b"ok", {}))(req)

    server.routes["/slow"] = slow
    fetch_many(settings, [server.url("/slow")] * 8)
    assert active["max"] == 2


def test_politeness_delay_spaces_requests_to_one_host(tmp_path: Path) -> None:
    settings = fast_settings(tmp_path, host_delay=0.2)
    sent: list[tuple[str, float]] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append((request.url.host, time.monotonic()))
        return httpx.Response(200, content=b"ok")

    async def run() -> None:
        async with Fetcher(settings, transport=httpx.MockTransport(record)) as fetcher:
            urls = [
                "https://a.example/1",
                "https://a.example/2",
                "https://a.example/3",
                "https://b.example/1",
            ]
            await asyncio.gather(*(fetcher.fetch(u) for u in urls))

    asyncio.run(run())
    starts = sorted(t for host, t in sent if host == "a.example")
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert len(gaps) == 2 and all(gap >= 0.19 for gap in gaps), gaps
    # Another host does not wait for a.example's turn.
    other = next(t for host, t in sent if host == "b.example")
    assert other - starts[0] < 0.1


@pytest.mark.parametrize(
    "encoding", ["gzip", "deflate", "raw-deflate", "br", "gzip, br", "identity"]
)
def test_compressed_responses_are_decoded(tmp_path: Path, encoding: str) -> None:
    import gzip
    import zlib

    import brotli

    body = b"<rss><channel><title>compressed</title></channel></rss>" * 50

    def raw_deflate(data: bytes) -> bytes:
        packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        return packer.compress(data) + packer.flush()

    packed = {
        "gzip": gzip.compress,
        "deflate": zlib.compress,
        "raw-deflate": raw_deflate,  # what some servers send as "deflate"
        "br": brotli.compress,
        "gzip, br": lambda data: brotli.compress(gzip.compress(data)),
        "identity": bytes,
    }[encoding](body)
    header = "deflate" if encoding == "raw-deflate" else encoding

    def handler(request: httpx.Request) -> httpx.Response:
        assert {"gzip", "deflate", "br"} <= set(request.headers["Accept-Encoding"].split(", "))
        return httpx.Response(200, content=packed, headers={"Content-Encoding": header})

    async def run() -> FetchResult:
        async with Fetcher(fast_settings(tmp_path), transport=httpx.MockTransport(handler)) as f:
            return await f.fetch("https://e.org/feed")

    assert asyncio.run(run()).content == body


@pytest.mark.parametrize(
    "link",
    ["javascript:alert(1)", "data:text/html,<p>hi</p>", "file:///etc/passwd", "ftp://e.org/"],
)
def test_links_that_are_not_web_addresses_fail_for_good_without_a_request(
    tmp_path: Path, link: str
) -> None:
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, content=b"ok")

    async def run() -> FetchResult:
        async with Fetcher(fast_settings(tmp_path), transport=httpx.MockTransport(record)) as f:
            return await f.fetch(link)

    with pytest.raises(FetchError, match="not a web address") as caught:
        asyncio.run(run())
    assert not isinstance(caught.value, TransientFetchError)  # not retried every poll
    assert sent == []


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:{port}",
        "localhost:{port}",
        "[::1]:{port}",
        "169.254.169.254",
        "10.1.2.3",
        "192.168.0.1",
        "0.0.0.0:{port}",
        "[::ffff:127.0.0.1]:{port}",
    ],
)
def test_followed_link_to_a_private_address_is_refused(
    server: FixtureServer, settings: Settings, host: str
) -> None:
    port = server.base_url.rsplit(":", 1)[1]
    url = f"http://{host.format(port=port)}/article"
    server.routes["/article"] = Route(body=b"internal")

    async def run() -> FetchResult:
        async with Fetcher(settings) as fetcher:
            return await fetcher.fetch(url, allow_private=False)

    with pytest.raises(FetchError, match="allow_private") as caught:
        asyncio.run(run())
    assert not isinstance(caught.value, TransientFetchError)
    shown = host.format(port=port).rsplit(":", 1)[0] if "{port}" in host else host
    assert shown.strip("[]") in str(caught.value)
    assert server.requests_to("/article") == []


def test_followed_link_to_a_private_address_is_fetched_when_the_source_allows_it(
    server: FixtureServer, settings: Settings
) -> None:
    server.routes["/article"] = Route(body=b"internal")

    async def run() -> FetchResult:
        async with Fetcher(settings) as fetcher:
            return await fetcher.fetch(server.url("/article"), allow_private=True)

    assert asyncio.run(run()).content == b"internal"


@pytest.mark.parametrize(
    "location",
    ["http://169.254.169.254/latest/meta-data/", "http://localhost:{port}/admin", "/admin"],
)
def test_redirect_of_a_configured_url_to_a_private_address_is_refused(
    server: FixtureServer, settings: Settings, location: str
) -> None:
    port = server.base_url.rsplit(":", 1)[1]
    server.routes["/feed"] = sequence((302, b"", {"Location": location.format(port=port)}))
    server.routes["/admin"] = Route(body=b"secret")

    async def run(allow_private: bool) -> FetchResult:
        async with Fetcher(settings) as fetcher:
            return await fetcher.fetch(
                server.url("/feed"), allow_private=allow_private, configured=True
            )

    # The configured URL is the operator's choice (it is on 127.0.0.1 here); where it
    # redirects to is the remote site's.
    with pytest.raises(FetchError, match="allow_private"):
        asyncio.run(run(allow_private=False))
    assert server.requests_to("/feed") and server.requests_to("/admin") == []
    if location == "/admin":
        assert asyncio.run(run(allow_private=True)).content == b"secret"


def test_redirect_to_a_non_web_address_fails_for_good(
    server: FixtureServer, settings: Settings
) -> None:
    server.routes["/feed"] = sequence((302, b"", {"Location": "file:///etc/passwd"}))
    with pytest.raises(FetchError, match="not a web address") as caught:
        fetch(settings, server.url("/feed"))
    assert not isinstance(caught.value, TransientFetchError)
    assert len(server.requests_to("/feed")) == 1


def test_no_retry_is_started_that_would_end_past_the_deadline(
    server: FixtureServer, tmp_path: Path
) -> None:
    settings = fast_settings(tmp_path, fetch_deadline=2.0, fetch_max_retry_after=60.0)
    server.routes["/busy"] = sequence((429, b"", {"Retry-After": "30"}), (200, b"ok", {}))
    with pytest.raises(TransientFetchError, match="HTTP 429"):
        fetch(settings, server.url("/busy"))
    assert len(server.requests_to("/busy")) == 1  # waiting 30 s would pass the 2 s deadline


def test_idle_hosts_are_forgotten_beyond_the_cap(tmp_path: Path) -> None:
    """Gates and connection pools for hosts polled once do not pile up for ever."""
    servers = [FixtureServer({"/": Route(body=b"ok")}).start() for _ in range(4)]
    try:
        settings = fast_settings(tmp_path)
        transport = PerHostTransport(settings.host_concurrency, max_hosts=2)

        async def run() -> tuple[int, int]:
            async with Fetcher(settings, transport=transport, max_hosts=2) as fetcher:
                for server in servers + servers[:1]:
                    assert (await fetcher.fetch(server.url("/"))).content == b"ok"
                return len(fetcher._gates), len(transport._pools)

        assert asyncio.run(run()) == (2, 2)
    finally:
        for server in servers:
            server.stop()


def test_a_gate_in_use_is_not_forgotten(tmp_path: Path) -> None:
    release = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "busy.example":
            await release.wait()
        return httpx.Response(200, content=b"ok")

    async def run() -> bool:
        settings = fast_settings(tmp_path)
        async with Fetcher(settings, transport=httpx.MockTransport(handler), max_hosts=1) as f:
            busy = asyncio.create_task(f.fetch("https://busy.example/feed"))
            while "busy.example" not in f._gates:
                await asyncio.sleep(0)
            await f.fetch("https://a.example/feed")
            await f.fetch("https://b.example/feed")
            kept = "busy.example" in f._gates
            release.set()
            await busy
            return kept

    assert asyncio.run(run())


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "gzip, br"])
@pytest.mark.parametrize("split", [1, 997, 65536])
def test_decoding_in_bounded_pieces_loses_nothing(coding: str, split: int) -> None:
    """However the network cuts the body, every byte comes out, a bounded piece at a time."""
    import gzip
    import random
    import zlib

    import brotli

    from monitor.fetch.decode import PIECE, decoder_for

    noise = random.Random(8).randbytes(20_000)
    body = (b"<item>" + b"x" * 300_000 + noise + b"</item>") * 3
    if split == 1:
        body = body[:50_000]  # byte by byte: keep it quick
    packed = {
        "gzip": gzip.compress,
        "deflate": zlib.compress,
        "br": brotli.compress,
        "gzip, br": lambda data: brotli.compress(gzip.compress(data)),
    }[coding](body)
    decoder = decoder_for(coding)
    pieces: list[bytes] = []
    for start in range(0, len(packed), split):
        pieces.extend(decoder.feed(packed[start : start + split]))
    pieces.extend(decoder.flush())
    assert b"".join(pieces) == body
    assert max(map(len, pieces)) <= 2 * PIECE  # brotli may overshoot its limit by a block


def _resolver(answers: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers[host]

    return resolve


def _fetch_via(settings: Settings, resolve, url: str) -> FetchResult:  # type: ignore[no-untyped-def]
    async def run() -> FetchResult:
        transport = PerHostTransport(settings.host_concurrency, resolve=resolve)
        async with Fetcher(settings, transport=transport) as fetcher:
            return await fetcher.fetch(url, allow_private=False)

    return asyncio.run(run())


def test_a_name_that_resolves_to_a_private_address_is_refused(
    server: FixtureServer, settings: Settings
) -> None:
    server.routes["/article"] = Route(body=b"internal")
    port = server.base_url.rsplit(":", 1)[1]
    resolve = _resolver({"news.example": ["127.0.0.1"]})
    with pytest.raises(
        FetchError, match="refused news.example: it resolves to 127.0.0.1, a loopback"
    ):
        _fetch_via(settings, resolve, f"http://news.example:{port}/article")
    assert server.requests_to("/article") == []


def test_the_connection_goes_to_the_address_that_was_checked(
    server: FixtureServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One lookup for the check and the connection: DNS rebinding cannot slip between them."""
    import monitor.fetch.addresses

    # Loopback stands for a public address here: the check passes, and the page must come
    # from the address the check saw, not from a second lookup of the name.
    monkeypatch.setattr(monitor.fetch.addresses, "private_kind", lambda address: None)
    server.routes["/article"] = Route(body=b"public page")
    port = server.base_url.rsplit(":", 1)[1]
    resolve = _resolver({"news.example": ["127.0.0.1"]})
    assert _fetch_via(settings, resolve, f"http://news.example:{port}/article").content == (
        b"public page"
    )


def test_a_name_that_does_not_resolve_is_a_connection_failure(settings: Settings) -> None:
    with pytest.raises(TransientFetchError, match="cannot resolve nowhere.example"):
        _fetch_via(settings, _resolver({}), "http://nowhere.example/feed")


def test_a_host_listed_under_hosts_has_its_own_politeness(tmp_path: Path) -> None:
    # The settings are strict (1 at once, 0.2 s apart); fast.example is trusted with 3 at
    # once and no delay, slow.example keeps the settings' concurrency with a longer delay.
    settings = fast_settings(tmp_path, host_concurrency=1, host_delay=0.2)
    hosts = {
        "fast.example": HostPolicy(concurrency=3, delay=0),
        "slow.example": HostPolicy(delay=0.3),
    }
    active: dict[str, int] = {}
    most: dict[str, int] = {}
    sent: list[tuple[str, float]] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        host = request.url.host
        sent.append((host, time.monotonic()))
        active[host] = active.get(host, 0) + 1
        most[host] = max(most.get(host, 0), active[host])
        await asyncio.sleep(0.05)
        active[host] -= 1
        return httpx.Response(200, content=b"ok")

    async def run() -> None:
        transport = httpx.MockTransport(handler)
        async with Fetcher(settings, transport=transport, hosts=hosts) as fetcher:
            urls = [f"https://fast.example/{i}" for i in range(6)]
            urls += [f"https://slow.example/{i}" for i in range(3)]
            await asyncio.gather(*(fetcher.fetch(u) for u in urls))

    asyncio.run(run())
    assert most == {"fast.example": 3, "slow.example": 1}
    slow = sorted(t for host, t in sent if host == "slow.example")
    gaps = [b - a for a, b in zip(slow, slow[1:], strict=False)]
    assert len(gaps) == 2 and all(gap >= 0.29 for gap in gaps), gaps


def test_a_kept_alive_connection_the_server_closed_is_not_reused(settings: Settings) -> None:
    # httpcore asks the stream whether an idle connection is readable before reusing it
    # (monitor.fetch.streams answers from the socket): one the server closed is dropped
    # and the next fetch opens another, instead of failing on a dead connection.
    connections = closed = 0

    async def run() -> list[tuple[int, int]]:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal connections, closed
            connections += 1
            await reader.readline()
            while (await reader.readline()) not in (b"\r\n", b""):
                pass
            writer.write(b'HTTP/1.1 304 Not Modified\r\nETag: "a"\r\n\r\n')
            await writer.drain()
            writer.close()  # no "Connection: close": the client learns it from the socket
            await writer.wait_closed()
            closed += 1

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server, Fetcher(settings) as fetcher:
            url = f"http://127.0.0.1:{port}/feed"
            statuses = []
            for _ in range(3):
                result = await fetcher.fetch(url, Validators(etag='"a"'))
                statuses.append((result.status, result.attempts))
                while closed < len(statuses):  # the server has closed this connection
                    await asyncio.sleep(0.01)
            return statuses

    # Each fetch at its first attempt: none was sent on a dead connection and retried.
    assert asyncio.run(run()) == [(304, 1)] * 3
    assert connections == 3


def test_304s_keep_their_connection_alive(settings: Settings) -> None:
    # A conditional re-poll answered 304 must not cost a new TCP connection each time.
    connections = 0

    async def run() -> list[int]:
        closed = asyncio.Event()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal connections
            connections += 1
            try:
                while await reader.readline():
                    while (await reader.readline()) not in (b"\r\n", b""):
                        pass
                    writer.write(b'HTTP/1.1 304 Not Modified\r\nETag: "a"\r\n\r\n')
                    await writer.drain()
            finally:
                writer.close()
                await writer.wait_closed()
                closed.set()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            async with Fetcher(settings) as fetcher:
                url = f"http://127.0.0.1:{port}/feed"
                statuses = [
                    (await fetcher.fetch(url, Validators(etag='"a"'))).status for _ in range(5)
                ]
            await asyncio.wait_for(closed.wait(), 10)
        return statuses

    assert asyncio.run(run()) == [304] * 5
    assert connections == 1


def test_a_fetch_waits_for_a_permit_held_by_a_body_not_yet_dealt_with(
    server: FixtureServer, settings: Settings
) -> None:
    # One permit: the second feed is not even requested while the first one's body is
    # still being worked on, so fetched bodies never pile up ahead of the parser.
    requested: list[str] = []

    def feed(req: BaseHTTPRequestHandler) -> None:
        requested.append(req.path)
        sequence((200, b"<rss/>", {}))(req)

    server.routes["/a"] = server.routes["/b"] = feed

    async def run() -> list[str]:
        slots = asyncio.Semaphore(1)
        first, second = Permit(slots), Permit(slots)
        async with Fetcher(settings) as fetcher:
            a = await fetcher.fetch(server.url("/a"), permit=first)
            assert a.status == 200 and first.held
            later = asyncio.ensure_future(fetcher.fetch(server.url("/b"), permit=second))
            await asyncio.sleep(0.3)
            seen_while_held = list(requested)
            first.give_back()  # the first body is stored: the second request goes
            b = await later
            assert b.status == 200 and second.held
            return seen_while_held

    assert asyncio.run(run()) == ["/a"]
    assert requested == ["/a", "/b"]


def test_a_failed_attempt_gives_its_permit_back_during_the_retry_pause(
    server: FixtureServer, tmp_path: Path
) -> None:
    settings = fast_settings(tmp_path, fetch_backoff=0.5)
    server.routes["/flaky"] = sequence((503, b"", {}), (200, b"ok", {}))
    server.routes["/other"] = Route(body=b"ok")

    async def run() -> tuple[int, bool, bool]:
        slots = asyncio.Semaphore(1)
        flaky, other = Permit(slots), Permit(slots)
        async with Fetcher(settings) as fetcher:
            retried = asyncio.ensure_future(fetcher.fetch(server.url("/flaky"), permit=flaky))
            await asyncio.sleep(0.2)  # the 503 came back; the retry waits ≥ 0.5 s
            done = await asyncio.wait_for(fetcher.fetch(server.url("/other"), permit=other), 0.3)
            other.give_back()
            result = await retried
            return result.attempts, done.status == 200, flaky.held

    assert asyncio.run(run()) == (2, True, True)
