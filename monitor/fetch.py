"""The shared HTTP client: conditional GET, limits, politeness and retries.

One `Fetcher` wraps one `httpx.AsyncClient` for the whole process. Each request:
- waits for its host's turn (at most `host_concurrency` at once, `host_delay` between starts);
- sends If-None-Match / If-Modified-Since when the caller knows the validators;
- follows at most `fetch_max_redirects` redirects;
- streams the body and stops reading at `fetch_max_bytes` (after decompression);
- is retried with exponential backoff and jitter on timeouts, connection errors, 429 (honouring
  Retry-After) and 5xx; other failures are final at once.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
)

from monitor.errors import FetchError, TransientFetchError
from monitor.settings import Settings

_MB = 1024 * 1024


@dataclass
class Validators:
    """What the server said about a URL's last version, for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass
class FetchResult:
    """A completed fetch: 200 with a body, or 304 with none."""

    url: str
    status: int
    content: bytes = b""
    content_type: str | None = None
    validators: Validators = field(default_factory=Validators)
    attempts: int = 1

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass
class _HostGate:
    semaphore: asyncio.Semaphore
    lock: asyncio.Lock
    next_start: float = 0.0


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _size(n: int) -> str:
    return f"{n / _MB:.0f} MB" if n >= _MB else f"{n} bytes"


class PerHostTransport(httpx.AsyncBaseTransport):
    """One small connection pool per host.

    httpcore's pool scans every connection it holds on each request, so a single pool
    shared by hundreds of hosts costs O(hosts) per request; per-host pools keep it O(1).
    """

    def __init__(self, connections_per_host: int) -> None:
        self._limits = httpx.Limits(
            max_connections=connections_per_host,
            max_keepalive_connections=connections_per_host,
        )
        self._pools: dict[tuple[bytes, bytes, int | None], httpx.AsyncHTTPTransport] = {}
        self._ssl: ssl.SSLContext | None = None  # one for all pools: each costs ~1 MB

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = (request.url.raw_scheme, request.url.raw_host, request.url.port)
        pool = self._pools.get(key)
        if pool is None:
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            pool = httpx.AsyncHTTPTransport(limits=self._limits, verify=self._ssl)
            self._pools[key] = pool
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        for pool in self._pools.values():
            await pool.aclose()
        self._pools.clear()


class Fetcher:
    """Fetches URLs politely and safely; one per process, shared by all sources."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._gates: dict[str, _HostGate] = {}
        # Never queue inside httpcore's pool: its queue costs O(connections) per request.
        self._in_flight = asyncio.Semaphore(settings.max_connections)
        self._client = httpx.AsyncClient(
            transport=transport or PerHostTransport(settings.host_concurrency),
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate, br"},
            timeout=httpx.Timeout(
                connect=settings.fetch_connect_timeout,
                read=settings.fetch_read_timeout,
                write=settings.fetch_read_timeout,
                pool=None,
            ),
            limits=httpx.Limits(
                max_connections=settings.max_connections,
                max_keepalive_connections=settings.max_connections,
            ),
            follow_redirects=True,
            max_redirects=settings.fetch_max_redirects,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _gate(self, url: str) -> _HostGate:
        host = urlsplit(url).netloc.lower()
        gate = self._gates.get(host)
        if gate is None:
            gate = _HostGate(asyncio.Semaphore(self.settings.host_concurrency), asyncio.Lock())
            self._gates[host] = gate
        return gate

    async def _wait_turn(self, gate: _HostGate) -> None:
        async with gate.lock:
            delay = gate.next_start - self._clock()
            if delay > 0:
                await asyncio.sleep(delay)
            gate.next_start = self._clock() + self.settings.host_delay

    async def fetch(self, url: str, validators: Validators | None = None) -> FetchResult:
        """GET `url` (conditionally if validators are given); raises FetchError on failure."""
        settings = self.settings

        def wait(state: RetryCallState) -> float:
            err = state.outcome.exception() if state.outcome else None
            if isinstance(err, TransientFetchError) and err.retry_after is not None:
                return min(err.retry_after, settings.fetch_max_retry_after)
            base = settings.fetch_backoff
            return min(60.0, base * 2 ** (state.attempt_number - 1)) + random.uniform(0, base)

        retrying = AsyncRetrying(
            retry=retry_if_exception_type(TransientFetchError),
            stop=stop_after_attempt(max(1, settings.fetch_attempts)),
            wait=wait,
            reraise=True,
        )
        attempt = 0
        async for attempt_state in retrying:
            with attempt_state:
                attempt += 1
                result = await self._fetch_once(url, validators)
                result.attempts = attempt
                return result
        raise FetchError(f"{url}: no attempt was made")  # pragma: no cover - tenacity reraises

    async def _fetch_once(self, url: str, validators: Validators | None) -> FetchResult:
        headers: dict[str, str] = {}
        if validators and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        gate = self._gate(url)
        async with gate.semaphore:
            await self._wait_turn(gate)
            async with self._in_flight:
                return await self._fetch_guarded(url, headers)

    async def _fetch_guarded(self, url: str, headers: dict[str, str]) -> FetchResult:
        try:
            async with asyncio.timeout(self.settings.fetch_deadline):
                return await self._request(url, headers)
        except TimeoutError:
            raise TransientFetchError(
                f"no complete answer within {self.settings.fetch_deadline:.0f} s"
            ) from None
        except httpx.TooManyRedirects:
            raise FetchError(
                f"more than {self.settings.fetch_max_redirects} redirects (redirect loop?)"
            ) from None
        except httpx.TimeoutException as err:
            raise TransientFetchError(f"timed out ({type(err).__name__})") from None
        except httpx.TransportError as err:
            reason = str(err) or type(err).__name__
            raise TransientFetchError(f"connection failed: {reason[:200]}") from None
        except httpx.InvalidURL as err:
            raise FetchError(f"invalid URL: {err}") from None
        except httpx.DecodingError as err:
            raise FetchError(f"undecodable response: {str(err)[:200]}") from None

    async def _request(self, url: str, headers: dict[str, str]) -> FetchResult:
        cap = self.settings.fetch_max_bytes
        async with self._client.stream("GET", url, headers=headers) as response:
            status = response.status_code
            if status == 304:
                return FetchResult(url=str(response.url), status=304)
            if status == 429 or status >= 500:
                raise TransientFetchError(
                    f"HTTP {status} {response.reason_phrase}".strip(),
                    retry_after=retry_after_seconds(response.headers.get("Retry-After")),
                )
            if status != 200:
                raise FetchError(f"HTTP {status} {response.reason_phrase}".strip())
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > cap:
                raise FetchError(f"response of {_size(int(declared))} exceeds the {_size(cap)} cap")
            chunks: list[bytes] = []
            received = 0
            async for chunk in response.aiter_bytes():
                received += len(chunk)
                if received > cap:
                    raise FetchError(f"response exceeds the {_size(cap)} cap; stopped reading")
                chunks.append(chunk)
            return FetchResult(
                url=str(response.url),
                status=200,
                content=b"".join(chunks),
                content_type=response.headers.get("Content-Type"),
                validators=Validators(
                    etag=response.headers.get("ETag"),
                    last_modified=response.headers.get("Last-Modified"),
                ),
            )
