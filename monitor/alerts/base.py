"""The Channel interface, delivery outcomes, the alert payload, and the type registry.

A Channel turns one or more outbox alerts (several for a digest) into one message and
reports an Outcome: Sent, Retry (worth another attempt later) or Dead (never will work).
It never raises for a delivery failure: failures are data, like a failed poll.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, ConfigDict

from monitor.models import Document, Match
from monitor.settings import Settings

SCHEMA_VERSION = 1

# Characters that end a line or control a terminal: never part of text we show.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_URL_UNSAFE = re.compile(r"[\x00-\x20\x7f-\x9f\u2028\u2029]")
LINK_SCHEMES = ("http", "https")


def one_line(text: str) -> str:
    """Text for one line of a header or message: control characters become single spaces."""
    return " ".join(CONTROL.sub(" ", text).split())


def printable(text: str) -> str:
    """Control characters replaced one for one by spaces (highlight offsets still fit)."""
    return CONTROL.sub(" ", text)


def safe_link(url: object) -> str | None:
    """The URL if it is an http(s) link to a host, fit for an href or a chat link; else None.

    Feed links are third-party text: `javascript:`, `data:` or `file:` links (however
    spelled) must never become something a reader can click.
    """
    if not isinstance(url, str):
        return None
    # Spaces and controls inside a link are percent-encoded, as a browser would send them.
    url = _URL_UNSAFE.sub(lambda m: quote(m.group()), url.strip())
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in LINK_SCHEMES and parts.hostname else None


@dataclass(frozen=True)
class Sent:
    detail: str = ""

    def __str__(self) -> str:  # for logs and messages: no Python reprs
        return f"sent ({self.detail})" if self.detail else "sent"


@dataclass(frozen=True)
class Retry:
    error: str
    retry_after: float | None = None

    def __str__(self) -> str:
        return f"failed, will retry: {self.error}"


@dataclass(frozen=True)
class Dead:
    error: str

    def __str__(self) -> str:
        return f"failed for good: {self.error}"


Outcome = Sent | Retry | Dead


@dataclass
class OutboxAlert:
    """One outbox row, as a channel sees it."""

    id: int
    key: str
    channel: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime


def idempotency_key(rule_id: str, document_id: str, version: int, channel: str) -> str:
    """The key that makes a second alert for the same match and channel impossible."""
    raw = f"{rule_id}\x1f{document_id}\x1f{version}\x1f{channel}".encode()
    return hashlib.sha256(raw).hexdigest()[:40]


def batch_key(keys: Iterable[str]) -> str:
    """One key for a message carrying several alerts: the same for the same alerts.

    A digest resent after a crash gets the same Message-ID (or Idempotency-Key), so the
    receiver can drop the duplicate.
    """
    ordered = sorted(keys)
    if len(ordered) == 1:
        return ordered[0]
    return hashlib.sha256("\x1f".join(ordered).encode()).hexdigest()[:40]


def alert_payload(
    key: str, match: Match, document: Document, query: str, update: bool
) -> dict[str, Any]:
    """The webhook JSON of DESIGN.md; emails are rendered from the same data."""
    return {
        "type": "monitor.alert",
        "schema": SCHEMA_VERSION,
        "id": key,
        "rule": {"id": match.rule_id, "name": match.rule_name, "query": query},
        "document": {
            "id": document.id,
            "source_id": document.source_id,
            "url": document.url,
            "title": document.title,
            "kind": document.kind,
            "published_at": document.published_at.isoformat().replace("+00:00", "Z")
            if document.published_at
            else None,
            "authors": document.authors,
            "version": document.version,
        },
        "matches": [
            {
                "field": match.field,
                "terms": match.terms,
                "snippet": match.snippet,
                "highlights": [list(h) for h in match.highlights],
            }
        ],
        "update": update,
    }


class ChannelOptions(BaseModel):
    """Options every channel has."""

    model_config = ConfigDict(extra="forbid")

    type: str


class Channel(ABC):
    """A kind of alert destination."""

    type_name: ClassVar[str]
    Options: ClassVar[type[ChannelOptions]]

    def __init__(self, name: str, options: ChannelOptions, settings: Settings) -> None:
        self.name = name
        self.options = options
        self.settings = settings

    @property
    def digest_seconds(self) -> int | None:
        """Seconds to gather alerts into one message, or None to send each at once."""
        return None

    @abstractmethod
    async def send(self, alerts: list[OutboxAlert]) -> Outcome:
        """Deliver the alerts as one message; report what happened, never raise."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release connections held between sends (the worker calls it after each run)."""


REGISTRY: dict[str, type[Channel]] = {}


def register(cls: type[Channel]) -> type[Channel]:
    """Class decorator: make a Channel available as `type: <cls.type_name>`."""
    REGISTRY[cls.type_name] = cls
    return cls


def sample_alert(channel: str) -> OutboxAlert:
    """A recognisable alert for `monitor channels test`."""
    from datetime import UTC

    now = datetime.now(UTC)
    key = idempotency_key("channel-test", now.isoformat(), 0, channel)
    snippet = "This is a test alert from monitor: if you can read it, the channel works."
    payload = {
        "type": "monitor.alert",
        "schema": SCHEMA_VERSION,
        "id": key,
        "rule": {"id": "channel-test", "name": "Channel test", "query": "-"},
        "document": {
            "id": "test",
            "source_id": "monitor",
            "url": "https://example.org/",
            "title": f"Test alert for channel '{channel}'",
            "kind": "Test",
            "published_at": now.isoformat().replace("+00:00", "Z"),
            "authors": [],
            "version": 1,
        },
        "matches": [
            {"field": "body", "terms": ["test"], "snippet": snippet, "highlights": [[10, 14]]}
        ],
        "update": False,
    }
    return OutboxAlert(0, key, channel, payload, 0, now)
