"""Canonical URLs and the stable document ids derived from them."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import unquote_plus, urlencode, urljoin, urlsplit, urlunsplit

from monitor.errors import ParseError

_TRACKING_PARAMS = frozenset(
    "fbclid gclid dclid msclkid mc_cid mc_eid igshid _ga _hsenc _hsmi yclid ncid cmpid".split()
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
# As browsers read a URL (WHATWG): tabs and newlines inside are dropped, other control
# characters and spaces are percent-encoded, so no NUL or CR/LF ever reaches an id,
# a database or a header, and canonicalising twice gives the same URL.
_DROPPED = re.compile(r"[\t\n\r]")
_ENCODED = re.compile(r"[\x00-\x1f\x7f ]")


_C0_AND_SPACE = "".join(chr(c) for c in range(0x21))


def _clean(url: str) -> str:
    url = _DROPPED.sub("", url.strip(_C0_AND_SPACE))
    return _ENCODED.sub(lambda m: f"%{ord(m.group()):02X}", url)


def _is_tracking(name: str) -> bool:
    name = name.lower()
    return name.startswith("utm_") or name in _TRACKING_PARAMS


def _query(query: str) -> str:
    """The query without tracking parameters.

    Each kept parameter is re-encoded the way `urlencode` does (so ids stored before stay
    valid), but a parameter written without '=' (`?print`) stays without one: `print=` may
    be a different page to the site.
    """
    kept = []
    for piece in query.split("&"):
        if not piece:
            continue
        name, has_value, value = piece.partition("=")
        name, value = unquote_plus(name), unquote_plus(value)
        if _is_tracking(name):
            continue
        kept.append(urlencode([(name, value)]) if has_value else urlencode([(name, "")])[:-1])
    return "&".join(kept)


def canonical_url(url: str, base: str | None = None) -> tuple[str, str | None]:
    """(canonical URL, fragment): absolute, host lower-cased, tracking parameters dropped.

    Raises ParseError naming the URL when it cannot be one (a bad port, broken brackets).
    """
    try:
        if base:
            url = urljoin(base, _clean(url))
        parts = urlsplit(_clean(url))
        port = parts.port
    except ValueError as err:
        raise ParseError(f"'{url}' is not a valid URL: {err}") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 address: the brackets are part of the URL's syntax
        host = f"[{host}]"
    if port and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    path = parts.path or "/"
    canonical = urlunsplit((scheme, host, path, _query(parts.query), ""))
    return canonical, (parts.fragment or None)


def document_id(url: str, anchor: str | None = None) -> str:
    """Stable id of a release: its canonical URL plus its anchor on multi-release pages."""
    key = f"{url}#{anchor}" if anchor else url
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
