"""Where a fetch may go: web addresses only, and public hosts unless the source allows more.

Links and redirects come from third-party content, so they must not make the monitor
fetch (and then store and alert on) pages of its own network: a cloud metadata service at
169.254.169.254, an admin page on localhost. The URLs in the operator's config are
trusted; everything reached from them is checked — by its literal host, and by every
address its name resolves to, at the moment the connection is made (`PublicOnlyBackend`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore

from monitor.errors import FetchError

WEB_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Ends each refusal; monitor.web.tryrule replaces it (a page tried there has no source).
PRIVATE_ADVICE = "links and redirects reach it only with allow_private: true on the source"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]
SocketOption = Any  # httpcore's socket option tuples


def check_scheme(url: str) -> None:
    """Raise FetchError (final) unless `url` is http(s): javascript:, data:, file: … never are."""
    scheme = urlsplit(url).scheme.lower()
    if scheme not in WEB_SCHEMES:
        shown = f"'{scheme}:'" if scheme else "no scheme"
        raise FetchError(f"not a web address ({shown}; only http and https are fetched)")


def private_kind(address: IPAddress) -> str | None:
    """What makes an address non-public ('loopback', 'private' …), or None if it is public."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_unspecified:
        return "unspecified"
    if address.is_private:
        return "private"
    if address.is_multicast or address.is_reserved or not address.is_global:
        return "non-public"
    return None


async def system_resolve(host: str, port: int) -> list[str]:
    """The addresses of `host`, in the order the system prefers them."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def public_addresses(host: str, port: int, resolve: Resolver = system_resolve) -> list[str]:
    """The addresses of `host` to connect to; FetchError if it is, or any is, non-public."""
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if kind := private_kind(literal):
            raise FetchError(f"refused {host}: a {kind} address; {PRIVATE_ADVICE}")
        return [host]
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        raise FetchError(f"refused {host}: a loopback name; {PRIVATE_ADVICE}")
    try:
        addresses = await resolve(host, port)
    except (OSError, UnicodeError) as err:
        # As the connection would fail: a transient error, retried at the next poll.
        raise httpcore.ConnectError(f"cannot resolve {host}: {err}") from None
    if not addresses:
        raise httpcore.ConnectError(f"cannot resolve {host}: no address")
    for address in addresses:
        if kind := private_kind(ipaddress.ip_address(address.split("%", 1)[0])):
            raise FetchError(
                f"refused {host}: it resolves to {address}, a {kind} address; {PRIVATE_ADVICE}"
            )
    return addresses


class PublicOnlyBackend(httpcore.AsyncNetworkBackend):
    """Connects only to public addresses, and only to the ones it checked.

    The name is looked up once, here, and the connection goes to an address of that
    lookup: a DNS server that answers with a public address for a check and a private one
    for the connection (rebinding) gains nothing. TLS still verifies the host name.
    """

    def __init__(self, resolve: Resolver = system_resolve) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._resolve = resolve

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await public_addresses(host, port, self._resolve)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"cannot resolve {host}: no answer") from None
        failure: Exception | None = None
        for address in addresses:  # in turn, as a browser falls back from IPv6 to IPv4
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as err:
                failure = err
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not web addresses")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
