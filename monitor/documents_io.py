"""Documents from a file, for `monitor rules test --file` (feed, page, text or JSON)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from monitor.errors import MonitorError
from monitor.models import Document, RawItem
from monitor.normalize import normalize
from monitor.sources import jsonfeed
from monitor.sources.article import extract_releases
from monitor.sources.base import ArticleSelectors
from monitor.sources.rss import RssOptions, RssSource

FEED_SUFFIXES = {".xml", ".rss", ".atom", ".rdf"}
PAGE_SUFFIXES = {".html", ".htm"}
TEXT_SUFFIXES = {".txt", ".md"}


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
        raws = extract_releases(content, url, ArticleSelectors())
    elif suffix in TEXT_SUFFIXES:
        text = content.decode("utf-8", errors="replace").strip()
        title, _, body = text.partition("\n")
        raws = [RawItem(url=url, title=title.lstrip("# "), content_html=body.strip() or title)]
    elif suffix == ".json":
        try:
            data = json.loads(content)
            items = data if isinstance(data, list) else [data]
            return [Document.model_validate(item) for item in items]
        except (ValueError, ValidationError) as err:
            first = str(err).splitlines()[0]
            raise MonitorError(f"{path}: not a Document in JSON: {first}") from None
    else:
        known = sorted(FEED_SUFFIXES | PAGE_SUFFIXES | TEXT_SUFFIXES | {".json"})
        raise MonitorError(f"{path}: unknown file type '{suffix}' (use one of {', '.join(known)})")
    return [normalize(raw, source_id="file", fetched_at=now) for raw in raws]
