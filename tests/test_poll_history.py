"""Poll history: each poll is a row written with the poll, and the table stays small."""

from __future__ import annotations

import random
from datetime import timedelta

from monitor.fixture_server import FixtureServer, Route
from monitor.settings import Settings
from monitor.sources.rss import RssOptions
from monitor.store import Store
from monitor.store.polls import POLLS_KEPT, PRUNE_EVERY
from tests.conftest import FIXTURES, poll
from tests.test_store import NOW, doc


def test_a_poll_is_recorded_with_its_counts(store: Store) -> None:
    store.record_poll("state", [doc()], now=NOW, item_count=3, duration=0.5, http_status=200)
    store.record_poll(
        "state",
        [doc(), doc("A new text.", id="doc-2")],
        now=NOW + timedelta(minutes=10),
        item_count=3,
    )
    store.record_failure("state", "HTTP 503 Service Unavailable", now=NOW, http_status=503)

    failed, second, first = store.polls.recent("state")
    assert (first.status, first.new, first.item_count, first.duration, first.http_status) == (
        "ok",
        1,
        3,
        0.5,
        200,
    )
    assert (second.new, second.updated, second.unchanged) == (1, 0, 1)
    assert (failed.status, failed.error, failed.http_status) == (
        "error",
        "HTTP 503 Service Unavailable",
        503,
    )


def test_not_modified_polls_are_recorded_when_their_batch_is_written(store: Store) -> None:
    store.record_poll("state", [], now=NOW, status="not_modified", http_status=304)
    store.flush()
    [poll] = store.polls.recent("state")
    assert (poll.status, poll.http_status) == ("not_modified", 304)


def test_a_dry_run_records_no_poll(store: Store) -> None:
    store.record_poll("state", [doc()], now=NOW, dry_run=True)
    assert store.polls.recent("state") == []


def test_only_the_newest_polls_of_each_source_are_kept(store: Store) -> None:
    total = 3 * POLLS_KEPT
    for i in range(total):
        store.record_failure("state", f"failure {i}", now=NOW + timedelta(minutes=i))
    store.record_failure("other", "failure", now=NOW)
    kept = store.polls.recent("state", limit=10 * POLLS_KEPT)
    assert POLLS_KEPT <= len(kept) < POLLS_KEPT + PRUNE_EVERY
    assert [p.error for p in kept] == [f"failure {i}" for i in reversed(range(total))][: len(kept)]
    assert len(store.polls.recent("state")) == POLLS_KEPT  # what pages show
    assert len(store.polls.recent("other")) == 1


def test_a_source_polled_once_per_process_stays_pruned(store: Store) -> None:
    # `monitor once` from cron: every poll is a new process's first write of that source.
    random.seed(13)
    for i in range(POLLS_KEPT + 20 * PRUNE_EVERY):
        Store(store.engine).record_failure("state", "down", now=NOW + timedelta(minutes=i))
    kept = len(store.polls.recent("state", limit=10 * POLLS_KEPT))
    assert POLLS_KEPT <= kept <= POLLS_KEPT + 6 * PRUNE_EVERY


def test_a_batch_of_not_modified_polls_is_one_history_write(store: Store) -> None:
    for i in range(3):
        store.record_poll(f"s{i}", [], now=NOW, status="not_modified", http_status=304)
    store.flush()
    assert [len(store.polls.recent(f"s{i}")) for i in range(3)] == [1, 1, 1]


def test_failing_since_is_the_first_failure_after_the_last_success(store: Store) -> None:
    store.record_failure("state", "down", now=NOW)
    store.record_poll("state", [doc()], now=NOW + timedelta(hours=1), item_count=1)
    store.record_failure("state", "down", now=NOW + timedelta(hours=2))
    store.record_failure("state", "down", now=NOW + timedelta(hours=3))
    store.record_failure("never-worked", "down", now=NOW + timedelta(hours=4))
    assert store.polls.failing_since(["state", "never-worked", "unknown"]) == {
        "state": NOW + timedelta(hours=2),
        "never-worked": NOW + timedelta(hours=4),
    }


def test_the_pipeline_records_http_status_and_duration(
    server: FixtureServer, store: Store, settings: Settings
) -> None:
    server.routes["/feed"] = Route(
        body=(FIXTURES / "feeds/atom.xml").read_bytes(), content_type="application/atom+xml"
    )
    server.routes["/gone"] = Route(status=404, body=b"no")
    feed = RssOptions(id="feed", type="rss", url=server.url("/feed"))
    gone = RssOptions(id="gone", type="rss", url=server.url("/gone"))
    poll([feed, gone], store, settings)
    poll([feed], store, settings)  # answered 304 Not Modified

    not_modified, ok = store.polls.recent("feed")
    assert (ok.status, ok.http_status, ok.new, ok.item_count) == ("ok", 200, 3, 3)
    assert ok.duration is not None and ok.duration > 0
    assert (not_modified.status, not_modified.http_status) == ("not_modified", 304)
    [failed] = store.polls.recent("gone")
    assert (failed.status, failed.http_status) == ("error", 404)
    assert failed.error and "404" in failed.error
