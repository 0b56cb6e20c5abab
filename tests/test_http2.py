"""HTTP/2 where the server offers it: a real TLS server on loopback (Hypercorn) and a test CA.

The fetcher offers h2 and http/1.1 in the TLS handshake (ALPN); a server that picks h2
carries all of one host's concurrent polls on one connection. Plain http:// stays
HTTP/1.1 (no upgrade), as do servers that only speak it. The CA reaches the fetcher the
way an operator's would: through SSL_CERT_FILE, which OpenSSL's default paths read.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("hypercorn", reason="the HTTP/2 tests need Hypercorn (the test extra)")
trustme = pytest.importorskip("trustme", reason="the HTTP/2 tests need trustme (the test extra)")

from hypercorn.asyncio import serve  # noqa: E402
from hypercorn.config import Config  # noqa: E402

from monitor.errors import FetchError  # noqa: E402
from monitor.fetch import Fetcher, FetchResult, Validators  # noqa: E402
from tests.conftest import fast_settings  # noqa: E402
from tests.inprocess import run_monitor  # noqa: E402

FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Press releases</title><link>https://localhost/</link>
<item><title>Sanctions on two shipping firms</title><link>https://localhost/a</link>
<guid>https://localhost/a</guid><pubDate>Tue, 01 Dec 2026 10:00:00 +0000</pubDate>
<description>Treasury designated two firms today.</description></item>
</channel></rss>"""
ETAG = b'"v1"'


@dataclass
class Seen:
    """What the server saw: each request's HTTP version and the client's port."""

    requests: list[tuple[str, int]] = field(default_factory=list)

    @property
    def versions(self) -> set[str]:
        return {version for version, _ in self.requests}

    @property
    def connections(self) -> int:
        return len({port for _, port in self.requests})


def _app(seen: Seen) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        seen.requests.append((scope["http_version"], scope["client"][1]))
        await asyncio.sleep(0.05)  # long enough for concurrent polls to overlap
        headers = dict(scope["headers"])
        if headers.get(b"if-none-match") == ETAG:
            await send({"type": "http.response.start", "status": 304, "headers": [(b"etag", ETAG)]})
            await send({"type": "http.response.body", "body": b""})
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/rss+xml"), (b"etag", ETAG)],
            }
        )
        await send({"type": "http.response.body", "body": FEED})

    return app


@contextmanager
def tls_server(ca: Any, tmp_path: Path, *, alpn: list[str]) -> Iterator[tuple[int, Seen]]:
    """Hypercorn on 127.0.0.1 with a certificate for localhost, offering `alpn`."""
    cert = ca.issue_cert("localhost", "127.0.0.1")
    cert_file, key_file = tmp_path / "server.pem", tmp_path / "server.key"
    cert.cert_chain_pems[0].write_to_path(cert_file)
    cert.private_key_pem.write_to_path(key_file)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = Config()
    config.bind = [f"fd://{listener.detach()}"]
    config.certfile, config.keyfile = str(cert_file), str(key_file)
    config.alpn_protocols = alpn
    config.accesslog = config.errorlog = None
    seen = Seen()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(started.set)
        loop.run_until_complete(serve(_app(seen), config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield port, seen
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()


@pytest.fixture
def ca(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A certificate authority the fetcher trusts through SSL_CERT_FILE, as an operator's."""
    authority = trustme.CA()
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(bundle)
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    return authority


def _fetch_all(tmp_path: Path, urls: list[str], etag: bytes | None = None) -> list[FetchResult]:
    settings = fast_settings(tmp_path, host_concurrency=4)  # the default
    validators = Validators(etag=etag.decode()) if etag else None

    async def run() -> list[FetchResult]:
        async with Fetcher(settings) as fetcher:
            return list(await asyncio.gather(*(fetcher.fetch(u, validators) for u in urls)))

    return asyncio.run(run())


def test_a_server_offering_h2_carries_a_hosts_concurrent_polls_on_one_connection(
    ca: Any, tmp_path: Path
) -> None:
    with tls_server(ca, tmp_path, alpn=["h2", "http/1.1"]) as (port, seen):
        urls = [f"https://localhost:{port}/feed/{n}" for n in range(10)]
        results = _fetch_all(tmp_path, urls)
        unchanged = _fetch_all(tmp_path, urls, etag=ETAG)
    assert [r.status for r in results] == [200] * 10
    assert all(r.content == FEED and r.validators.etag == ETAG.decode() for r in results)
    assert [r.status for r in unchanged] == [304] * 10
    assert seen.versions == {"2"}
    # Ten polls, four at a time, twice (two fetchers, as two runs): one connection each.
    assert seen.connections == 2


def test_a_server_speaking_only_http11_over_tls_is_still_fetched(ca: Any, tmp_path: Path) -> None:
    with tls_server(ca, tmp_path, alpn=["http/1.1"]) as (port, seen):
        results = _fetch_all(tmp_path, [f"https://localhost:{port}/feed/{n}" for n in range(10)])
    assert [r.status for r in results] == [200] * 10
    assert seen.versions == {"1.1"}
    assert seen.connections == 4  # HTTP/1.1: one connection per request under way


def test_a_certificate_from_an_untrusted_authority_is_refused(
    ca: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tls_server(trustme.CA(), tmp_path, alpn=["h2", "http/1.1"]) as (port, seen):
        with pytest.raises(FetchError, match="(?i)certificate"):
            _fetch_all(tmp_path, [f"https://localhost:{port}/feed"])
    assert seen.requests == []


def test_monitor_once_polls_an_h2_feed_and_its_304(ca: Any, tmp_path: Path) -> None:
    with tls_server(ca, tmp_path, alpn=["h2", "http/1.1"]) as (port, seen):
        (tmp_path / "sources.yaml").write_text(
            f"sources:\n  - {{id: press, type: rss, url: 'https://localhost:{port}/feed.xml'}}\n"
        )
        env = {
            "MONITOR_CONFIG_DIR": str(tmp_path),
            "MONITOR_DATABASE_URL": f"sqlite:///{tmp_path}/m.db",
        }
        first = run_monitor("once", env=env)
        again = run_monitor("once", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Sanctions on two shipping firms" in first.stdout
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No new or updated documents." in again.stdout and "not modified" in again.stdout
    assert seen.versions == {"2"}
