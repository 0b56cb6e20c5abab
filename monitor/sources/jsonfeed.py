"""JSON Feed (https://jsonfeed.org, versions 1 and 1.1), read by `type: rss` sources.

A JSON document whose `version` starts with https://jsonfeed.org/version/ is a feed: each
item is one release, as in RSS. Publishers (government and news sites among them) serve it
as application/feed+json or application/json.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from monitor.errors import ParseError
from monitor.models import RawItem

VERSION_PREFIX = "https://jsonfeed.org/version/"


def looks_like_json(content: bytes) -> bool:
    """True when the body is a JSON object (after a byte-order mark and white space)."""
    return content.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def load(content: bytes) -> dict[str, Any] | None:
    """The JSON Feed object, None when the body is JSON but not a JSON Feed."""
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as err:
        raise ParseError(f"not a readable feed: invalid JSON: {err}") from None
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith(VERSION_PREFIX):
        return None
    return data


def _date(value: Any) -> datetime | str | None:
    # RFC 3339 is required by the spec; anything else goes to normalisation as text.
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return value.strip()
    return parsed if parsed.tzinfo is not None else value.strip()


def _authors(item: dict[str, Any], feed: dict[str, Any]) -> list[str]:
    # 1.1 has `authors` (a list); 1.0 had `author` (one object). Either may sit on the feed.
    for holder in (item, feed):
        people = holder.get("authors")
        if not isinstance(people, list):
            people = [holder["author"]] if isinstance(holder.get("author"), dict) else []
        names = [str(p["name"]).strip() for p in people if isinstance(p, dict) and p.get("name")]
        if names:
            return names
    return []


def _text_as_html(text: str) -> str:
    """content_text is text: escaped, its blank-line paragraphs kept as <p>."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def parse_json_feed(
    data: dict[str, Any], url: str, *, kind_from_category: bool = False
) -> list[RawItem]:
    """The releases of a JSON Feed object (see `load`)."""
    items = data.get("items")
    if not isinstance(items, list):
        raise ParseError("not a readable feed: JSON Feed without an 'items' list")
    home = _str(data.get("home_page_url")) or url
    language = _str(data.get("language")) or None
    found: list[RawItem] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        guid = str(item["id"]) if item.get("id") not in (None, "") else None
        link = _str(item.get("url")) or _str(item.get("external_url"))
        if not link and guid and guid.startswith(("http://", "https://")):
            link = guid
        title = _str(item.get("title"))
        published = _date(item.get("date_published"))
        content = _str(item.get("content_html")) or _text_as_html(_str(item.get("content_text")))
        anchor = None
        if not link:
            # No web address of its own: the release stands at the feed's home page, told
            # apart by its id, else by its title and date (as for RSS entries).
            identity = guid or (
                f"{title}\x1f{published}" if title else f"\x1f{published}\x1f{content}"
            )
            anchor = "entry-" + hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]
        tags = [t for t in item.get("tags") or [] if isinstance(t, str) and t.strip()]
        try:
            address = urljoin(url, link or home)
        except ValueError:  # a malformed link: the pipeline reports it as an item error
            address = link or home
        found.append(
            RawItem(
                url=address,
                title=title,
                summary_html=html.escape(_str(item.get("summary"))),
                content_html=content,
                published=published,
                updated=_date(item.get("date_modified")),
                authors=_authors(item, data),
                kind=tags[0] if kind_from_category and tags else None,
                language=_str(item.get("language")) or language,
                guid=guid or (link or None),
                anchor=anchor,
                standalone=anchor is not None,
            )
        )
    return found
