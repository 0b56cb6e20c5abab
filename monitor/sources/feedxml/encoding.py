"""The feed's bytes decoded as feedparser decodes them (RFC 3023), or Declined."""

from __future__ import annotations

import re

from feedparser.encodings import convert_to_utf8
from feedparser.exceptions import NonXMLContentType

from monitor.sources.feedxml.model import Declined

_DECLARED = re.compile(rb"<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)", re.I)
_CHARSET = re.compile(r"charset\s*=", re.I)
# Encodings in which ASCII bytes read as ASCII (feedparser's candidates all agree then).
_ASCII_SAFE = frozenset({"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1",
                         "windows-1252", "cp1252", "iso-8859-15"})  # fmt: skip


def as_is(content: bytes, content_type: str | None) -> bool:
    """True where feedparser would decode the bytes as lxml does, so no conversion is needed.

    That is ASCII bytes declared (if at all) in an ASCII-compatible encoding, or bytes
    declared UTF-8 without a BOM, served without a charset or a text/* type (RFC 3023:
    text/* means US-ASCII to feedparser). Invalid UTF-8 then fails lxml's parse, and
    feedparser reads the feed. Spares `convert_to_utf8`'s decode/encode copies.
    """
    if content_type:
        if _CHARSET.search(content_type) or content_type.strip().lower().startswith("text/"):
            return False
    if content.startswith((b"\xef\xbb\xbf", b"\xfe\xff", b"\xff\xfe")) or b"\x00" in content[:4]:
        return False
    declared = _DECLARED.match(content[:200].lstrip())
    encoding = declared.group(1).decode().lower() if declared else None
    if encoding in ("utf-8", "utf8"):
        return True
    return content.isascii() and (encoding is None or encoding in _ASCII_SAFE)


def to_utf8(content: bytes, url: str, content_type: str | None) -> bytes:
    """The document in UTF-8 as feedparser decodes it (RFC 3023 rules), or Declined."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    result: dict[str, object] = {}
    try:
        data = convert_to_utf8(headers, content, result)
    except Exception as err:  # noqa: BLE001 - feedparser's own bugs on hostile bytes
        raise Declined(f"encoding: {str(err)[:200]}") from None
    complaint = result.get("bozo_exception")
    # A missing or non-XML Content-Type is no reason (feedparser reads such feeds the same).
    if (complaint and not isinstance(complaint, NonXMLContentType)) or not result.get("encoding"):
        raise Declined(f"encoding: {complaint or 'unknown'}")
    return bytes(data)
