"""The network transport: one small connection pool per host, the address check wired in."""

from __future__ import annotations

import ssl
from collections import OrderedDict
from collections.abc import AsyncIterator

import httpcore
import httpx

from monitor.fetch.addresses import PublicOnlyBackend, Resolver, system_resolve
from monitor.fetch.streams import QuickInfoBackend

MAX_HOSTS = 1000  # hosts whose pools (and the fetcher's gates) are kept; idle ones beyond go
# Connections per httpcore pool: its request assignment scans queued requests × connections,
# so a host allowed many requests at once gets several small pools instead of one big one.
SHARD = 8
# Request extension read by PerHostTransport: may this request reach a private address?
ALLOW_PRIVATE = "monitor.allow_private"


class _Pool:
    def __init__(self, transport: httpx.AsyncHTTPTransport) -> None:
        self.transport = transport
        self.users = 0  # requests whose response is not closed yet


class _TrackedStream(httpx.AsyncByteStream):
    """A response body that tells its pool when it is closed."""

    def __init__(self, inner: httpx.AsyncByteStream, pool: _Pool) -> None:
        self._inner = inner
        self._pool: _Pool | None = pool

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            if self._pool is not None:
                self._pool.users -= 1
                self._pool = None


def _busy(pool: _Pool) -> int:
    return pool.users


class PerHostTransport(httpx.AsyncBaseTransport):
    """One small connection pool per host, and the network's address check.

    httpcore's pool scans every connection it holds on each request, so a single pool
    shared by hundreds of hosts costs O(hosts) per request; per-host pools keep it O(1).
    A host allowed more than SHARD requests at once gets several pools of SHARD
    connections, each request going to the least busy: one pool of 50 connections cost
    ~1 ms of CPU per request in its scans (bench/http_cost.py).
    The pools of the least recently used idle hosts are closed beyond `max_hosts`.

    A request whose extension ALLOW_PRIVATE is false goes through a pool that connects
    only to public addresses (`PublicOnlyBackend`); it never shares a connection with
    requests that may reach private ones. Test transports that answer production URLs
    from loopback (`RewriteTransport`, `httpx.MockTransport`) do no such check.
    """

    def __init__(
        self,
        connections_per_host: int,
        *,
        max_hosts: int = MAX_HOSTS,
        resolve: Resolver = system_resolve,
    ) -> None:
        per_pool = min(connections_per_host, SHARD)
        self._limits = httpx.Limits(max_connections=per_pool, max_keepalive_connections=per_pool)
        self._per_pool = per_pool
        self._shards = -(-connections_per_host // per_pool)
        self._max_hosts = max_hosts
        self._resolve = resolve
        self._pools: OrderedDict[tuple[bytes, bytes, int | None, bool], list[_Pool]] = OrderedDict()
        self._ssl: ssl.SSLContext | None = None  # one for all pools: each costs ~1 MB

    def _new_pool(self, allow_private: bool) -> _Pool:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        transport = httpx.AsyncHTTPTransport(limits=self._limits, verify=self._ssl)
        # httpx takes no network backend, so its connection pool is replaced by one with the
        # same settings whose streams answer httpcore's checks cheaply (`QuickInfoBackend`)
        # and, unless private addresses are allowed, connect through the address check.
        assert isinstance(transport._pool, httpcore.AsyncConnectionPool)
        backend = QuickInfoBackend(None if allow_private else PublicOnlyBackend(self._resolve))
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=self._ssl,
            max_connections=self._limits.max_connections,
            max_keepalive_connections=self._limits.max_keepalive_connections,
            keepalive_expiry=self._limits.keepalive_expiry,
            network_backend=backend,
            # Offered in the TLS handshake: a server that picks h2 carries all of this
            # pool's requests on one connection. Plain http:// stays HTTP/1.1 (no upgrade).
            http2=True,
        )
        return _Pool(transport)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        allow_private = bool(request.extensions.get(ALLOW_PRIVATE, True))
        url = request.url
        key = (url.raw_scheme, url.raw_host, url.port, allow_private)
        shards = self._pools.get(key)
        if shards is None:
            shards = self._pools[key] = [self._new_pool(allow_private)]
        else:
            self._pools.move_to_end(key)
        pool = min(shards, key=_busy)
        if pool.users >= self._per_pool and len(shards) < self._shards:
            pool = self._new_pool(allow_private)
            shards.append(pool)
        pool.users += 1
        try:
            await self._forget_idle()
            response = await pool.transport.handle_async_request(request)
        except BaseException:
            pool.users -= 1
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_TrackedStream(response.stream, pool),
            extensions=response.extensions,
        )

    async def _forget_idle(self) -> None:
        if len(self._pools) <= self._max_hosts:
            return  # the usual case: no copy of the pool list on every request
        for key in list(self._pools):  # least recently used first
            if len(self._pools) <= self._max_hosts:
                return
            shards = self._pools.get(key)
            if shards is not None and all(p.users == 0 for p in shards):
                del self._pools[key]
                for pool in shards:
                    await pool.transport.aclose()

    async def aclose(self) -> None:
        pools = [pool for shards in self._pools.values() for pool in shards]
        self._pools.clear()
        for pool in pools:
            await pool.transport.aclose()
