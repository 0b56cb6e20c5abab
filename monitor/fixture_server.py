"""A real HTTP server on loopback that replays recorded fixtures.

`monitor demo`, the tests and the benchmarks use it instead of the internet. It answers
conditional requests (ETag / Last-Modified → 304), compresses with gzip when asked, and
lets a test swap a route's content or make it fail. `RewriteTransport` sends requests for
production URLs (https://www.state.gov/...) to it, so Documents keep their real URLs.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import yaml

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
RECORDED_AT = "Tue, 20 Nov 2018 22:00:00 GMT"


@dataclass
class Route:
    """What the server answers for one path."""

    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    conditional: bool = True
    last_modified: str = RECORDED_AT

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:20] + '"'


Handler = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class SeenRequest:
    path: str
    headers: dict[str, str]
    body: bytes = b""
    method: str = "GET"


def production_path(url: str) -> str:
    """The server path that stands for a production URL: /<host><path>."""
    parts = urlsplit(url)
    return f"/{parts.netloc.lower()}{parts.path or '/'}"


def load_url_map(fixtures_dir: Path) -> dict[str, Route | Handler]:
    """Routes for every production URL listed in fixtures/urls.yaml."""
    mapping = yaml.safe_load((fixtures_dir / "urls.yaml").read_text(encoding="utf-8")) or {}
    routes: dict[str, Route | Handler] = {}
    for url, spec in mapping.items():
        body = (fixtures_dir / spec["file"]).read_bytes()
        routes[production_path(url)] = Route(body=body, content_type=spec["type"])
    return routes


class _Server(ThreadingHTTPServer):
    # The default listen backlog (5) drops bursts of connections; clients then wait a
    # second for a SYN retry, which benchmarks would count as latency.
    request_queue_size = 128


class FixtureServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 serving `routes` (path → Route or handler)."""

    def __init__(
        self,
        routes: dict[str, Route | Handler] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.routes: dict[str, Route | Handler] = dict(routes or {})
        self.requests: list[SeenRequest] = []
        self._lock = threading.Lock()
        self._httpd = _Server((host, port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self) -> FixtureServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FixtureServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def requests_to(self, path: str) -> list[SeenRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return  # quiet: tests and the demo print what matters

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                self._dispatch(body, "POST")

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self._dispatch(b"", "GET")

            def _dispatch(self, body: bytes, method: str) -> None:
                path = urlsplit(self.path).path
                seen = SeenRequest(path, dict(self.headers.items()), body, method)
                self.body = body  # for handlers: the request body, already read
                with server._lock:
                    server.requests.append(seen)
                route = server.routes.get(path)
                if route is None:
                    self._send(404, b"not found\n", "text/plain")
                elif callable(route):
                    route(self)
                else:
                    self._serve(route)

            def _serve(self, route: Route) -> None:
                if route.delay:
                    time.sleep(route.delay)
                headers = dict(route.headers)
                if route.conditional and route.status == 200:
                    headers.update({"ETag": route.etag, "Last-Modified": route.last_modified})
                    if self.headers.get("If-None-Match") == route.etag or (
                        "If-None-Match" not in self.headers
                        and self.headers.get("If-Modified-Since") == route.last_modified
                    ):
                        self._send(304, b"", None, headers)
                        return
                body = route.body
                if "gzip" in self.headers.get("Accept-Encoding", "") and len(body) > 512:
                    body = gzip.compress(body, mtime=0)
                    headers["Content-Encoding"] = "gzip"
                self._send(route.status, body, route.content_type, headers)

            def _send(
                self,
                status: int,
                body: bytes,
                content_type: str | None,
                headers: dict[str, str] | None = None,
            ) -> None:
                self.send_response(status)
                if content_type:
                    self.send_header("Content-Type", content_type)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    if body:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (size cap, timeout): expected in tests

        return _Handler


class RewriteTransport(httpx.AsyncBaseTransport):
    """Sends every request to the fixture server at /<host><path>, keeping the real URL."""

    def __init__(self, base_url: str, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self._base = httpx.URL(base_url)
        self._inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        original = request.url
        if original.host in _LOOPBACK:
            return await self._inner.handle_async_request(request)
        target = self._base.copy_with(
            path=production_path(str(original)), query=original.query or None
        )
        proxied = httpx.Request(
            request.method,
            target,
            headers=request.headers,
            stream=request.stream,
            extensions=request.extensions,
        )
        proxied.headers["Host"] = target.netloc.decode("ascii")
        return await self._inner.handle_async_request(proxied)

    async def aclose(self) -> None:
        await self._inner.aclose()
