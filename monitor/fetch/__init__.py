"""The shared HTTP client: conditional GET, limits, politeness and retries.

One `Fetcher` wraps one `httpx.AsyncClient` for the whole process. Each `fetch`:
- waits for its host's turn (at most `host_concurrency` at once, `host_delay` between starts;
  a host listed under `hosts:` in sources.yaml has its own, see `HostPolicy`);
- sends If-None-Match / If-Modified-Since when the caller knows the validators;
- follows at most `fetch_max_redirects` redirects, checking each hop: only http(s), and —
  unless the source sets `allow_private` — no private, loopback or link-local address
  (see `addresses.py`);
- streams the body and stops at `fetch_max_bytes`, counted during decompression (`decode.py`);
- is retried with exponential backoff and jitter on timeouts, connection errors, 429
  (honouring Retry-After) and 5xx; other failures are final at once;
- ends within `fetch_deadline` seconds from its first attempt, retries included.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx

from monitor.errors import FetchError, TransientFetchError
from monitor.fetch.addresses import check_scheme
from monitor.fetch.decode import decoder_for
from monitor.fetch.transport import ALLOW_PRIVATE, MAX_HOSTS, PerHostTransport
from monitor.hosts import HostPolicy, host_of
from monitor.settings import Settings

__all__ = [
    "ALLOW_PRIVATE",
    "MAX_HOSTS",
    "FetchResult",
    "Fetcher",
    "HostPolicy",
    "PerHostTransport",
    "Permit",
    "Validators",
    "retry_after_seconds",
]

_MB = 1024 * 1024


@dataclass
class Validators:
    """What the server said about a URL's last version, for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None
    # A digest of the body last read in full (kept in memory only): a server that answers
    # 200 with the same bytes again costs a hash, not a parse.
    body_hash: str | None = field(default=None, compare=False)


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


class Permit:
    """A place among the fetches whose bodies are in memory, bounded by a shared semaphore.

    `Fetcher.fetch` takes it when the request is about to be sent (its host's turn has
    come: waiting in a host's queue holds none) and gives it back if the attempt fails (no
    body is held during a retry's pause); after a successful fetch its holder gives it back
    once done with the body. So fetches never run ahead of the work on their bodies: without
    it, 1,000 feeds fetched in 2 s wait in memory for a parser that needs 10.
    """

    def __init__(self, slots: asyncio.Semaphore) -> None:
        self._slots = slots
        self.held = False

    async def take(self) -> None:
        if not self.held:
            await self._slots.acquire()
            self.held = True

    def give_back(self) -> None:
        if self.held:
            self.held = False
            self._slots.release()


@dataclass
class _HostGate:
    semaphore: asyncio.Semaphore
    lock: asyncio.Lock
    delay: float
    next_start: float = 0.0
    users: int = 0  # fetches holding or waiting for this gate: it must not be forgotten


@dataclass
class _Deadline:
    """One deadline per fetch, started when its first attempt gets its turn.

    Time spent queueing behind the host's other fetches does not count: a source with
    fifty articles on one host must not time out waiting in line.
    """

    seconds: float
    at: float | None = None

    def start(self) -> float:
        if self.at is None:
            self.at = asyncio.get_running_loop().time() + self.seconds
        return self.at

    def left(self) -> float:
        if self.at is None:
            return self.seconds
        return self.at - asyncio.get_running_loop().time()


_REDIRECTS = frozenset({301, 302, 303, 307, 308})


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


def _raw(response: httpx.Response) -> AsyncIterator[bytes]:
    """The body as sent, before any Content-Encoding is undone."""
    if response.is_stream_consumed and isinstance(response.stream, httpx.AsyncByteStream):
        # A transport that answers with a response it has already read (httpx's
        # MockTransport) still holds the raw bytes in its stream.
        return aiter(response.stream)
    return response.aiter_raw()


class Fetcher:
    """Fetches URLs politely and safely; one per process, shared by all sources."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_hosts: int = MAX_HOSTS,
        hosts: Mapping[str, HostPolicy] | None = None,
    ) -> None:
        self.settings = settings
        self._hosts = dict(hosts or {})
        self._clock = clock
        self._max_hosts = max_hosts
        self._gates: OrderedDict[str, _HostGate] = OrderedDict()
        # Never queue inside httpcore's pool: its queue costs O(connections) per request.
        self._in_flight = asyncio.Semaphore(settings.max_connections)
        self._client = httpx.AsyncClient(
            # Pools open connections on demand: sized for the most a host may use at once.
            transport=transport
            or PerHostTransport(
                max(
                    [settings.host_concurrency]
                    + [p.concurrency for p in self._hosts.values() if p.concurrency]
                ),
                max_hosts=max_hosts,
            ),
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
            # Followed here, one hop at a time, so that every hop is checked.
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def set_hosts(self, hosts: Mapping[str, HostPolicy]) -> None:
        """New per-host politeness (a config reload): delays apply at once, concurrency to
        hosts with no request under way (the others at their next idle moment)."""
        self._hosts = dict(hosts)
        for host, gate in list(self._gates.items()):
            gate.delay = self._policy(host)[1]
            if gate.users == 0:
                del self._gates[host]

    def _policy(self, host: str) -> tuple[int, float]:
        policy = self._hosts.get(host)
        concurrency = self.settings.host_concurrency
        delay = self.settings.host_delay
        if policy is not None:
            concurrency = policy.concurrency or concurrency
            delay = delay if policy.delay is None else policy.delay
        return concurrency, delay

    def _gate(self, url: str) -> _HostGate:
        host = host_of(url)
        gate = self._gates.get(host)
        if gate is not None:
            self._gates.move_to_end(host)
            return gate
        concurrency, delay = self._policy(host)
        gate = _HostGate(asyncio.Semaphore(concurrency), asyncio.Lock(), delay)
        self._gates[host] = gate
        now = self._clock()
        for key in list(self._gates):  # least recently used first
            if len(self._gates) <= self._max_hosts:
                break
            old = self._gates[key]
            # A gate in use, or whose politeness delay is still running, is kept.
            if old is not gate and old.users == 0 and old.next_start <= now:
                del self._gates[key]
        return gate

    async def _wait_turn(self, gate: _HostGate) -> None:
        if gate.delay <= 0 and gate.next_start <= self._clock():
            return  # no delay on this host: nothing to wait for, no lock to take
        async with gate.lock:
            delay = gate.next_start - self._clock()
            if delay > 0:
                await asyncio.sleep(delay)
            gate.next_start = self._clock() + gate.delay

    async def fetch(
        self,
        url: str,
        validators: Validators | None = None,
        *,
        allow_private: bool = True,
        configured: bool = False,
        max_bytes: int | None = None,
        permit: Permit | None = None,
    ) -> FetchResult:
        """GET `url` (conditionally if validators are given); raises FetchError on failure.

        `max_bytes` replaces `fetch_max_bytes` for this fetch (a source that is big by nature).
        `permit` is taken before each attempt's request and kept with the result (see Permit).

        With `allow_private=False` no hop may reach a private, loopback or link-local
        address — except the URL itself when `configured` (it is the operator's choice,
        where it redirects to is not).
        """
        check_scheme(url)
        headers: dict[str, str] = {}
        if validators and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        deadline = _Deadline(self.settings.fetch_deadline)
        attempts = max(1, self.settings.fetch_attempts)
        attempt = 0
        while True:
            attempt += 1
            try:
                result = await self._fetch_once(
                    url,
                    headers,
                    deadline,
                    allow_private=allow_private,
                    configured=configured,
                    cap=max_bytes or self.settings.fetch_max_bytes,
                    permit=permit,
                )
            except TransientFetchError as err:
                pause = self._pause(err, attempt)
                # A retry that could not finish before the deadline is not started.
                if attempt >= attempts or pause >= deadline.left():
                    raise
                await asyncio.sleep(pause)
                continue
            result.attempts = attempt
            return result

    def _pause(self, err: TransientFetchError, attempt: int) -> float:
        if err.retry_after is not None:
            return min(err.retry_after, self.settings.fetch_max_retry_after)
        base = self.settings.fetch_backoff
        return min(60.0, base * 2 ** (attempt - 1)) + random.uniform(0, base)

    async def _fetch_once(
        self,
        url: str,
        headers: dict[str, str],
        deadline: _Deadline,
        *,
        allow_private: bool,
        configured: bool,
        cap: int,
        permit: Permit | None,
    ) -> FetchResult:
        gate = self._gate(url)
        gate.users += 1
        try:
            async with gate.semaphore:
                await self._wait_turn(gate)
                if permit is not None:
                    await permit.take()
                async with self._in_flight:
                    return await self._fetch_guarded(
                        url,
                        headers,
                        deadline,
                        allow_private=allow_private,
                        configured=configured,
                        cap=cap,
                    )
        except BaseException:
            if permit is not None:
                permit.give_back()  # no body held: other fetches may go meanwhile
            raise
        finally:
            gate.users -= 1

    async def _fetch_guarded(
        self,
        url: str,
        headers: dict[str, str],
        deadline: _Deadline,
        *,
        allow_private: bool,
        configured: bool,
        cap: int,
    ) -> FetchResult:
        try:
            async with asyncio.timeout_at(deadline.start()):
                return await self._request(
                    url, headers, allow_private=allow_private, configured=configured, cap=cap
                )
        except TimeoutError:
            raise TransientFetchError(
                f"no complete answer within {self.settings.fetch_deadline:.0f} s"
            ) from None
        except httpx.TimeoutException as err:
            raise TransientFetchError(f"timed out ({type(err).__name__})") from None
        except httpx.UnsupportedProtocol:
            raise FetchError("not a web address (only http and https are fetched)") from None
        except httpx.TransportError as err:
            reason = str(err) or type(err).__name__
            try:
                host = err.request.url.host  # the host that failed, after any redirect
            except RuntimeError:  # no request attached
                host = urlsplit(url).hostname or ""
            if reason.startswith("[Errno -"):  # a name lookup (getaddrinfo) failed
                reason = f"cannot resolve {host}: {reason.split('] ', 1)[-1]}"
            elif host and host not in reason:
                reason = f"{host}: {reason}"
            raise TransientFetchError(f"connection failed: {reason[:200]}") from None
        except httpx.InvalidURL as err:
            raise FetchError(f"invalid URL: {err}") from None

    async def _request(
        self,
        url: str,
        headers: dict[str, str],
        *,
        allow_private: bool,
        configured: bool,
        cap: int,
    ) -> FetchResult:
        for hop in range(self.settings.fetch_max_redirects + 1):
            check_scheme(url)
            trusted = allow_private or (configured and hop == 0)
            async with self._client.stream(
                "GET", url, headers=headers, extensions={ALLOW_PRIVATE: trusted}
            ) as response:
                location = response.headers.get("Location")
                if response.status_code in _REDIRECTS and location:
                    # Closed unread: a redirect's body is never worth the bytes.
                    url = str(response.url.join(location))
                    continue
                return await self._read(response, cap)
        raise FetchError(
            f"more than {self.settings.fetch_max_redirects} redirects (redirect loop?)"
        )

    async def _read(self, response: httpx.Response, cap: int) -> FetchResult:
        status = response.status_code
        if status == 304:
            # Read to its (empty) end: a response closed unread takes its connection with
            # it, and every 304 would then pay for a new TCP connection.
            async for _ in _raw(response):
                pass
            return FetchResult(url=str(response.url), status=304)
        if status == 429 or status >= 500:
            err: FetchError = TransientFetchError(
                f"HTTP {status} {response.reason_phrase}".strip(),
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
            err.http_status = status
            raise err
        if status != 200:
            err = FetchError(f"HTTP {status} {response.reason_phrase}".strip())
            err.http_status = status
            raise err
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            raise FetchError(f"response of {_size(int(declared))} exceeds the {_size(cap)} cap")
        coding = response.headers.get("Content-Encoding", "")
        decoder = decoder_for(coding)
        once = " once decompressed" if coding.strip().lower() not in ("", "identity") else ""
        chunks: list[bytes] = []
        received = raw = 0
        # Raw bytes, decoded here piece by piece: the cap holds inside decompression too.
        async for data in _raw(response):
            raw += len(data)
            if raw > cap:
                raise FetchError(f"response exceeds the {_size(cap)} cap; stopped reading")
            for piece in decoder.feed(data):
                received += len(piece)
                if received > cap:
                    raise FetchError(
                        f"response exceeds the {_size(cap)} cap{once}; stopped reading"
                    )
                chunks.append(piece)
        for piece in decoder.flush():
            received += len(piece)
            if received > cap:
                raise FetchError(f"response exceeds the {_size(cap)} cap{once}; stopped reading")
            chunks.append(piece)
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
