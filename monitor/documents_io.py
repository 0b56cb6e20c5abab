"""Documents from a file, for `monitor rules test --file` (feed, page, text or JSON)."""

from __future__ import annotations

import difflib
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from monitor.errors import MonitorError
from monitor.models import Document, RawItem
from monitor.normalize import normalize
from monitor.sources import jsonfeed
from monitor.sources.base import ArticleSelectors
from monitor.sources.rss import RssOptions, RssSource

FEED_SUFFIXES = {".xml", ".rss", ".atom", ".rdf"}
PAGE_SUFFIXES = {".html", ".htm"}
TEXT_SUFFIXES = {".txt", ".md"}
# What `monitor show` prints besides the Document itself.
SHOW_EXTRAS = {"sightings"}


def _is_json_feed(content: bytes) -> bool:
    try:
        return jsonfeed.looks_like_json(content) and jsonfeed.load(content) is not None
    except MonitorError:
        return False


def documents_from_file(path: Path) -> list[Document]:
    """Read a file as Documents: one per feed entry (JSON Feed too), page release, text or
    JSON object."""
    suffix = path.suffix.lower()
    try:
        content = path.read_bytes()
    except OSError as err:
        raise MonitorError(f"cannot read {path}: {err.strerror or err}") from None
    now = datetime.now(UTC)
    url = path.resolve().as_uri()
    raws: list[RawItem]
    if suffix in FEED_SUFFIXES or (suffix == ".json" and _is_json_feed(content)):
        options = RssOptions(id="file", type="rss", url="https://file.invalid/")
        raws = RssSource(options).parse(content, url, None)
    elif suffix in PAGE_SUFFIXES:
        from monitor.sources.article import extract_releases  # bs4, readability: pages only

        raws = extract_releases(content, url, ArticleSelectors())
    elif suffix in TEXT_SUFFIXES:
        text = content.decode("utf-8", errors="replace").strip()
        title, _, body = text.partition("\n")
        raws = [RawItem(url=url, title=title.lstrip("# "), content_html=body.strip() or title)]
    elif suffix == ".json":
        return _documents_from_json(path, content, url, now)
    else:
        known = sorted(FEED_SUFFIXES | PAGE_SUFFIXES | TEXT_SUFFIXES | {".json"})
        raise MonitorError(f"{path}: unknown file type '{suffix}' (use one of {', '.join(known)})")
    return [normalize(raw, source_id="file", fetched_at=now) for raw in raws]


def _documents_from_json(path: Path, content: bytes, url: str, now: datetime) -> list[Document]:
    """Documents as `monitor show` prints them, or hand-written ones (title and body suffice).

    Fields a hand-written document leaves out get file defaults: source 'file', the
    file's address, the time now, and an id and content hash derived from the text.
    """
    try:
        data = json.loads(content)
    except json.JSONDecodeError as err:
        raise MonitorError(f"{path}:{err.lineno}:{err.colno}: not valid JSON: {err.msg}") from None
    except ValueError:  # bytes that are not UTF-8 (or -16, -32) text
        raise MonitorError(f"{path}: not valid JSON: not UTF-8 text") from None
    items = data if isinstance(data, list) else [data]
    if not items or not all(isinstance(item, dict) for item in items):
        raise MonitorError(f"{path}: expected a JSON object (a Document) or a list of them")
    documents = []
    for number, item in enumerate(items, 1):
        where = f"{path}: document {number}: " if isinstance(data, list) else f"{path}: "
        documents.append(_document(item, where, f"{url}#{number}" if len(items) > 1 else url, now))
    return documents


def _document(item: dict[str, Any], where: str, url: str, now: datetime) -> Document:
    known = list(Document.model_fields)
    for name in item:
        if name not in known and name not in SHOW_EXTRAS:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (fields: {', '.join(known)})"
            raise MonitorError(f"{where}unknown field '{name}'{hint}")
    fields = {name: value for name, value in item.items() if name in known}
    text = f"{fields.get('title', '')}\n{fields.get('body', '')}"
    digest = hashlib.sha256(text.encode("utf-8", errors="replace")).hexdigest()
    defaults = {
        "id": hashlib.sha256(url.encode()).hexdigest()[:24],
        "source_id": "file",
        "url": url,
        "title": "",
        "content_hash": digest,
        "fetched_at": now,
    }
    try:
        return Document.model_validate({**defaults, **fields})
    except ValidationError as err:
        raise MonitorError(f"{where}{_field_error(err.errors()[0])}") from None


def _field_error(error: Any) -> str:
    """One pydantic error as a reader would say it: the field, then what is wrong."""
    field = ".".join(str(part) for part in error["loc"])
    kind, value = str(error["type"]), error.get("input")
    if kind.startswith(("datetime", "date_")):
        problem = f"'{value}' is not a date and time (e.g. 2018-11-20T21:06:00Z)"
    elif kind == "string_type":
        problem = "expected text"
    elif kind in ("int_type", "int_parsing", "int_from_float"):
        problem = "expected a whole number"
    elif kind == "list_type":
        problem = "expected a list"
    else:
        problem = str(error["msg"]).removeprefix("Value error, ")
    return f"'{field}': {problem}"
