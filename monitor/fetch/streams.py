"""Network streams that answer httpcore's per-request question cheaply.

Before every request on a kept-alive connection httpcore asks its stream whether the
socket is readable (a server that closed it, or sent bytes nobody asked for, makes the
connection unusable). AnyIO's stream answers through its table of extra attributes, which
it builds anew on each call: ~7% of the CPU of a poll answered 304. `QuickInfoBackend`
wraps another backend's streams so that the socket is looked up once, at connect time.
"""

from __future__ import annotations

import select
import socket
from collections.abc import Iterable
from typing import Any

import httpcore

SocketOption = Any  # httpcore's socket option tuples


def is_readable(sock: socket.socket | None) -> bool:
    """Whether a read would not block (data, or the peer's close): True for a closed socket."""
    if sock is None or sock.fileno() < 0:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


class QuickInfoStream(httpcore.AsyncNetworkStream):
    """Another stream, with its socket cached for `get_extra_info`."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket: socket.socket | None = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return QuickInfoStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._socket is not None:
            return is_readable(self._socket)
        if info == "socket" and self._socket is not None:
            return self._socket
        return self._inner.get_extra_info(info)


class QuickInfoBackend(httpcore.AsyncNetworkBackend):
    """Another backend whose TCP streams are `QuickInfoStream`s."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return QuickInfoStream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return await self._inner.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
