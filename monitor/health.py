"""Source health: a source that keeps failing, or whose listing suddenly yields nothing,
raises one ops alert; one "recovered" alert follows when it works again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.alerts.base import SCHEMA_VERSION, idempotency_key
from monitor.models import PollResult
from monitor.sources import SourceOptions
from monitor.store.outbox import NewAlert
from monitor.store.store import SourceState


@dataclass(frozen=True)
class HealthEvent:
    kind: str  # failing | empty | recovered
    message: str


def health_event(
    before: SourceState | None, result: PollResult, threshold: int
) -> HealthEvent | None:
    """The event this poll causes, if any (`before` is the state before the poll)."""
    failures = before.consecutive_failures if before else 0
    if result.status == "error":
        if failures + 1 == threshold:
            return HealthEvent("failing", f"failed {threshold} polls in a row: {result.error}")
        return None
    if failures >= threshold:
        return HealthEvent("recovered", f"works again after {failures} failed polls")
    had_items = bool(before and before.last_item_count)
    if result.status == "ok" and result.items == 0 and had_items:
        return HealthEvent(
            "empty",
            f"yielded no items after {before.last_item_count} last time"  # type: ignore[union-attr]
            " (has the page layout changed?)",
        )
    return None


def health_alert(
    source: SourceOptions, event: HealthEvent, channel: str, now: datetime
) -> NewAlert:
    """An ops alert in the usual payload shape, so every channel can deliver it."""
    key = idempotency_key(f"source-health:{event.kind}", source.id, int(now.timestamp()), channel)
    title = f"Source '{source.id}' {event.kind}: {event.message}"
    payload: dict[str, Any] = {
        "type": "monitor.alert",
        "schema": SCHEMA_VERSION,
        "id": key,
        "rule": {"id": "source-health", "name": "Source health", "query": "-"},
        "document": {
            "id": f"source:{source.id}",
            "source_id": source.id,
            "url": source.url,
            "title": title,
            "kind": "Source health",
            "published_at": now.isoformat().replace("+00:00", "Z"),
            "authors": [],
            "version": 1,
        },
        "matches": [{"field": "body", "terms": [], "snippet": event.message, "highlights": []}],
        "update": False,
    }
    return NewAlert(key, channel, "source-health", f"source:{source.id}", 1, payload)
