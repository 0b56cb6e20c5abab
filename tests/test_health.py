"""Source health alerts and retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.health import health_alert, health_event
from monitor.models import Document, PollResult
from monitor.sources.rss import RssOptions
from monitor.store import Store
from monitor.store.store import SourceState

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def state(failures: int, items: int | None = 20) -> SourceState:
    return SourceState("s", NOW, NOW, "ok", failures, None, items)


CASES = [
    ("4th failure: quiet", state(3), PollResult("s", "error", "HTTP 500"), None),
    ("5th failure: failing", state(4), PollResult("s", "error", "HTTP 500"), "failing"),
    ("6th failure: still quiet", state(5), PollResult("s", "error", "HTTP 500"), None),
    ("works after 7: recovered", state(7), PollResult("s", "ok", items=20), "recovered"),
    ("works after 2: quiet", state(2), PollResult("s", "ok", items=20), None),
    ("listing now empty", state(0, 20), PollResult("s", "ok", items=0), "empty"),
    ("was empty, still empty", state(0, 0), PollResult("s", "ok", items=0), None),
    ("304 is not empty", state(0, 20), PollResult("s", "not_modified"), None),
    ("first poll ever fails", None, PollResult("s", "error", "timed out"), None),
]


@pytest.mark.parametrize(("case", "before", "result", "kind"), CASES, ids=[c[0] for c in CASES])
def test_health_events(
    case: str, before: SourceState | None, result: PollResult, kind: str | None
) -> None:
    event = health_event(before, result, threshold=5)
    assert (event.kind if event else None) == kind


def test_health_alert_is_queued_like_any_alert(store: Store) -> None:
    source = RssOptions(id="treasury", type="rss", url="https://home.treasury.gov/feed")
    event = health_event(state(4), PollResult("treasury", "error", "HTTP 503"), 5)
    assert event is not None
    alert = health_alert(source, event, "ops-webhook", NOW)
    store.enqueue([alert, alert], NOW)  # the same key twice: queued once
    [claimed] = store.outbox.claim_due(NOW, 60, {})
    assert claimed.payload["document"]["title"] == (
        "Source 'treasury' failing: failed 5 polls in a row: HTTP 503"
    )


def test_retention_keeps_latest_versions(store: Store) -> None:
    def doc(body: str, fetched: datetime) -> Document:
        return Document(
            id="d",
            source_id="s",
            url="https://e.org/",
            title="t",
            body=body,
            content_hash=body,
            fetched_at=fetched,
        )

    old = NOW - timedelta(days=400)
    store.record_poll("s", [doc("v1", old)], now=old)
    store.record_poll("s", [doc("v2", old + timedelta(days=1))], now=old + timedelta(days=1))
    store.record_poll("s", [doc("v3", NOW)], now=NOW)
    versions, _ = store.prune(NOW - timedelta(days=180))
    assert versions == 2
    assert [v.body for v in store.versions("d")] == ["v3"]
    store.record_poll("other", [doc("only", old).model_copy(update={"id": "o"})], now=old)
    store.prune(NOW - timedelta(days=180))
    assert store.document("o") is not None  # a document's latest version is never pruned
