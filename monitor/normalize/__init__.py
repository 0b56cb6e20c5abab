"""RawItem → Document: clean text, UTC dates, canonical URL, stable id and content hash."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from monitor.models import Document, RawItem
from monitor.normalize.dates import parse_dates
from monitor.normalize.text import clean_line, html_to_text
from monitor.normalize.urls import canonical_url, document_id

_OFFICE = re.compile(
    r"^(?:the )?(?:office|bureau|department|ministry|embassy|mission|secretariat|press office)"
    r" (?:of|for|to)\b",
    re.IGNORECASE,
)
MAX_TITLE = 1000
MAX_SUMMARY = 600
MAX_BODY = 1_000_000


def _content_hash(title: str, body: str) -> str:
    return hashlib.sha256(f"{title}\n\n{body}".encode()).hexdigest()


def _summary(summary_text: str, body: str) -> str:
    text = summary_text or body.split("\n\n", 1)[0]
    text = clean_line(text.replace("[…]", "").replace("[...]", ""))
    if len(text) > MAX_SUMMARY:
        text = text[: MAX_SUMMARY - 1].rsplit(" ", 1)[0] + "…"
    return text


def normalize(
    raw: RawItem,
    *,
    source_id: str,
    fetched_at: datetime,
    timezone: str = "UTC",
    default_kind: str | None = None,
    oldest: datetime | None = None,
) -> Document:
    """The Document for one raw item (pure: no I/O); printed dates before `oldest` are typos."""
    url, fragment = canonical_url(raw.url)
    anchor = raw.anchor or fragment
    title = clean_line(raw.title)[:MAX_TITLE]
    body = html_to_text(raw.content_html or raw.summary_html)[:MAX_BODY]
    summary = _summary(html_to_text(raw.summary_html) if raw.summary_html else "", body)
    published, updated = parse_dates(raw.published, timezone, now=fetched_at, oldest=oldest)
    if raw.updated is not None:
        later_published, later_updated = parse_dates(
            raw.updated, timezone, now=fetched_at, oldest=oldest
        )
        updated = later_updated or later_published or updated
    authors = list(dict.fromkeys(a for a in (clean_line(x) for x in raw.authors) if a))
    office = clean_line(raw.office) if raw.office else None
    # Feeds often name the issuing office as the author ("Office of the Spokesperson").
    offices = [a for a in authors if _OFFICE.match(a)]
    if offices:
        authors = [a for a in authors if a not in offices]
        office = office or offices[0]
    return Document(
        id=document_id(url, anchor),
        source_id=source_id,
        url=url,
        title=title,
        kind=clean_line(raw.kind) if raw.kind else default_kind,
        published_at=published,
        updated_at=updated,
        authors=authors,
        office=office,
        location=clean_line(raw.location) if raw.location else None,
        summary=summary,
        body=body,
        language=raw.language,
        content_hash=_content_hash(title, body),
        fetched_at=fetched_at,
    )
