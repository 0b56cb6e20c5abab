"""Canonical URLs and the stable document ids derived from them."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

_TRACKING_PARAMS = frozenset(
    "fbclid gclid dclid msclkid mc_cid mc_eid igshid _ga _hsenc _hsmi yclid ncid cmpid".split()
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str, base: str | None = None) -> tuple[str, str | None]:
    """(canonical URL, fragment): absolute, host lower-cased, tracking parameters dropped."""
    if base:
        url = urljoin(base, url.strip())
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if parts.port and parts.port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{parts.port}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in _TRACKING_PARAMS
    ]
    path = parts.path or "/"
    canonical = urlunsplit((scheme, host, path, urlencode(query, doseq=True), ""))
    return canonical, (parts.fragment or None)


def document_id(url: str, anchor: str | None = None) -> str:
    """Stable id of a release: its canonical URL plus its anchor on multi-release pages."""
    key = f"{url}#{anchor}" if anchor else url
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
