"""Where a fetch may go: web addresses only, and public hosts unless the source allows more.

Links and redirects come from third-party content, so they must not make the monitor
fetch (and then store and alert on) pages of its own network: a cloud metadata service at
169.254.169.254, an admin page on localhost. The URLs in the operator's config are
trusted; everything reached from them is checked — by its literal host, and by every
address its name resolves to.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

import httpx

from monitor.errors import FetchError

WEB_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_ADVICE = "links and redirects reach it only with allow_private: true on the source"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


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


async def check_public(url: httpx.URL, request: httpx.Request | None = None) -> None:
    """Raise FetchError if the URL's host is, or resolves to, a non-public address.

    A name is resolved here and again when the connection is made, so a DNS server that
    answers differently the second time (rebinding) is not stopped by this check alone.
    """
    host = url.host
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if kind := private_kind(literal):
            raise FetchError(f"refused {host}: a {kind} address; {_ADVICE}")
        return
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        raise FetchError(f"refused {host}: a loopback name; {_ADVICE}")
    port = url.port or _DEFAULT_PORTS.get(url.scheme, 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        # As the connection would fail: a transient error, retried at the next poll.
        raise httpx.ConnectError(f"cannot resolve {host}: {err}", request=request) from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if kind := private_kind(address):
            raise FetchError(
                f"refused {host}: it resolves to {address}, a {kind} address; {_ADVICE}"
            )
