"""RawItem → Document: clean text, UTC dates, canonical URL, stable id and content hash."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from monitor.models import Document, RawItem
from monitor.normalize.dates import parse_dates
from monitor.normalize.lead import is_office, split_lead
from monitor.normalize.text import clean_line, html_to_text, inline_text
from monitor.normalize.urls import canonical_url, document_id

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


class KindMatcher(Protocol):
    """A source's title/URL → kind rule (`kinds:` in sources.yaml)."""

    kind: str

    def matches(self, title: str, url: str) -> bool: ...


def _paragraphs(html: str) -> list[str]:
    return [p for p in html_to_text(html).split("\n\n") if p] if html else []


def _kind(
    raw: RawItem, title: str, url: str, kinds: Sequence[KindMatcher], default: str | None
) -> str | None:
    """What the source states (feed category, article page), else its title/URL mapping,
    else the source's default kind."""
    stated = clean_line(raw.kind) if raw.kind else ""
    if stated:
        return stated
    return next((k.kind for k in kinds if k.matches(title, url)), None) or default


def normalize(
    raw: RawItem,
    *,
    source_id: str,
    fetched_at: datetime,
    timezone: str = "UTC",
    default_kind: str | None = None,
    kinds: Sequence[KindMatcher] = (),
    oldest: datetime | None = None,
) -> Document:
    """The Document for one raw item (pure: no I/O); printed dates before `oldest` are typos."""
    url, fragment = canonical_url(raw.url)
    anchor = raw.anchor or fragment
    title = inline_text(raw.title)[:MAX_TITLE]
    bylines = [*raw.authors, raw.office or ""]
    paragraphs, lead = split_lead(_paragraphs(raw.content_html or raw.summary_html), bylines)
    body = "\n\n".join(paragraphs)[:MAX_BODY]
    summary_paragraphs, _ = split_lead(_paragraphs(raw.summary_html), bylines)
    summary = _summary("\n\n".join(summary_paragraphs), body)
    published, updated = parse_dates(raw.published, timezone, now=fetched_at, oldest=oldest)
    if raw.updated is not None:
        later_published, later_updated = parse_dates(
            raw.updated, timezone, now=fetched_at, oldest=oldest
        )
        updated = later_updated or later_published or updated
    authors = list(dict.fromkeys(a for a in (clean_line(x) for x in raw.authors) if a))
    if len(lead.bylines) > 1 and len(authors) == 1 and all(b in authors[0] for b in lead.bylines):
        # One feed author string joining several speakers, printed one a line in the body.
        authors = list(lead.bylines)
    office = clean_line(raw.office) if raw.office else None
    # Feeds often name the issuing office as the author ("Office of the Spokesperson").
    offices = [a for a in authors if is_office(a)]
    if offices:
        authors = [a for a in authors if a not in offices]
        office = office or offices[0]
    office = office or lead.office
    return Document(
        id=document_id(url, anchor),
        source_id=source_id,
        url=url,
        title=title,
        kind=_kind(raw, title, url, kinds, default_kind),
        published_at=published,
        updated_at=updated,
        authors=authors,
        office=office,
        location=clean_line(raw.location) if raw.location else lead.location,
        summary=summary,
        body=body,
        language=clean_line(raw.language) or None if raw.language else None,
        content_hash=_content_hash(title, body),
        fetched_at=fetched_at,
    )
