"""End to end: recorded fixtures on a loopback server → pipeline → real database."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from monitor import pipeline
from monitor.fixture_server import FixtureServer, Route, production_path
from monitor.settings import Settings
from monitor.sources.rss import RssOptions
from monitor.store import Store
from tests.conftest import FIXTURES, by_source, fast_settings, poll, shipped_sources

PENCE = production_path(
    "https://www.theepochtimes.com/"
    "pence-us-and-south-korea-in-agreement-on-north-korea-diplomacy_2441222.html"
)
EPOCH_FEED = production_path("https://www.theepochtimes.com/c-world/feed")
STATE_FEED = production_path("https://www.state.gov/rss-feed/press-releases/feed/")


def test_first_poll_stores_every_release_once(
    production_server: FixtureServer, store: Store, settings: Settings
) -> None:
    results = by_source(poll(shipped_sources(), store, settings, rewrite_to=production_server))
    assert {r.status for r in results.values()} == {"ok"}
    new_titles = sorted(
        c.document.title for r in results.values() for c in r.changes if c.change == "new"
    )
    assert len(new_titles) == 9
    assert "Pence: US and South Korea in Agreement on North Korea Diplomacy" in new_titles
    # The archive reaches the feed's two State releases: one Document each, not four.
    assert store.count_documents() == 9
    archive_changes = {c.change for c in results["state-archive"].changes}
    feed_changes = {c.change for c in results["state-press-releases"].changes}
    assert {"new"} in (archive_changes, feed_changes)
    assert {"sighting"} in (archive_changes, feed_changes)
    note = next(
        c.document
        for c in results["state-press-releases"].changes
        if c.document.title == "U.S.-ROK Working Group"
    )
    assert store.sightings_of(note.id) == ["state-archive", "state-press-releases"]
    assert store.document(note.id) is not None and store.document(note.id).version == 1  # type: ignore[union-attr]


def test_lean_results_keep_what_the_report_shows_and_the_store_keeps_the_text(
    production_server: FixtureServer, store: Store, settings: Settings
) -> None:
    # `monitor once` holds a cycle's results for its report: 20,000 new documents must
    # not mean 20,000 texts in memory.
    results = poll(
        shipped_sources(), store, settings, rewrite_to=production_server, lean_results=True
    )
    new = [c.document for r in results for c in r.changes if c.change == "new"]
    assert len(new) == 9
    for brief in new:
        assert brief.title and brief.url and brief.version == 1 and brief.body == ""
        stored = store.document(brief.id)
        assert stored is not None and stored.body and stored.title == brief.title
        assert (stored.url, stored.kind, stored.published_at) == (
            brief.url,
            brief.kind,
            brief.published_at,
        )


def test_second_poll_is_conditional_and_stores_nothing(
    production_server: FixtureServer, store: Store, settings: Settings
) -> None:
    poll(shipped_sources(), store, settings, rewrite_to=production_server)
    before = store.count_documents()
    results = poll(shipped_sources(), store, settings, rewrite_to=production_server)
    assert {r.status for r in results} == {"not_modified"}
    assert all(not r.changes for r in results)
    assert store.count_documents() == before
    states = store.source_states()
    assert {s.last_status for s in states.values()} == {"not_modified"}
    assert {s.consecutive_failures for s in states.values()} == {0}
    second = production_server.requests_to(STATE_FEED)[-1].headers
    assert "If-None-Match" in second and "If-Modified-Since" in second


def test_changed_article_becomes_version_two(
    production_server: FixtureServer, store: Store, settings: Settings
) -> None:
    sources = [s for s in shipped_sources() if s.id == "epochtimes-world"]
    [first] = poll(sources, store, settings, rewrite_to=production_server)
    pence = next(c.document for c in first.changes if c.document.title.startswith("Pence"))
    # The site edits the article and the feed is rebuilt (a new build date).
    feed = production_server.routes[EPOCH_FEED]
    assert isinstance(feed, Route)
    production_server.routes[EPOCH_FEED] = Route(
        body=feed.body.replace(b"</channel>", b"<!-- rebuilt --></channel>"),
        content_type=feed.content_type,
    )
    production_server.routes[PENCE] = Route(
        body=(FIXTURES / "news/epochtimes-pence-2018-02-12.v2.html").read_bytes()
    )
    [second] = poll(sources, store, settings, rewrite_to=production_server)
    assert [
        (c.document.title[:5], c.change) for c in second.changes if c.change != "unchanged"
    ] == [("Pence", "updated")]
    versions = store.versions(pence.id)
    assert [v.version for v in versions] == [1, 2]
    assert versions[0].body == pence.body and versions[1].body != pence.body
    assert "This article has been updated" in versions[1].body


def test_dry_run_stores_nothing(
    production_server: FixtureServer, store: Store, settings: Settings
) -> None:
    results = poll(shipped_sources(), store, settings, rewrite_to=production_server, dry_run=True)
    would_be_new = {c.document.id for r in results for c in r.changes if c.change == "new"}
    assert len(would_be_new) == 9
    assert store.count_documents() == 0 and store.source_states() == {}


def _garbage(req: BaseHTTPRequestHandler) -> None:
    body = os.urandom(4096)
    req.send_response(200)
    req.send_header("Content-Type", "application/rss+xml")
    req.send_header("Content-Length", str(len(body)))
    req.end_headers()
    req.wfile.write(body)


def _redirect_loop(req: BaseHTTPRequestHandler) -> None:
    req.send_response(302)
    req.send_header("Location", "https:/" + req.path)  # back to itself
    req.send_header("Content-Length", "0")
    req.end_headers()


def _huge(req: BaseHTTPRequestHandler) -> None:
    req.send_response(200)
    req.send_header("Content-Type", "application/rss+xml")
    req.send_header("Connection", "close")
    req.end_headers()
    try:
        for _ in range(50 * 16):
            req.wfile.write(b"x" * 65536)
    except (BrokenPipeError, ConnectionResetError):
        return


FAULTS: dict[str, tuple[Route | object, str]] = {
    "http-500": (Route(status=500, body=b"Internal Server Error"), "HTTP 500"),
    "timeout": (Route(body=b"<rss/>", delay=2.0), "timed out"),
    "connection-refused": (None, "connection failed"),
    "50mb-body": (_huge, "exceeds the 10 MB cap"),
    "garbage-bytes": (_garbage, "not a readable feed"),
    "html-not-feed": (
        Route(body=(FIXTURES / "feeds/not-a-feed.html").read_bytes()),
        "expected a feed but got an HTML page",
    ),
    "redirect-loop": (_redirect_loop, "redirects"),
    "malformed-xml": (
        Route(
            body=(FIXTURES / "feeds/broken.xml").read_bytes(), content_type="application/rss+xml"
        ),
        "not a readable feed",
    ),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_bad_source_is_recorded_and_the_others_succeed(
    fault: str,
    production_server: FixtureServer,
    tmp_path: Path,
) -> None:
    settings = fast_settings(tmp_path, fetch_read_timeout=0.3, fetch_attempts=2)
    store = Store.open(settings.database_url)
    route, reason = FAULTS[fault]
    if route is None:
        url = "http://127.0.0.1:9/feed"  # discard port: nothing listens
    else:
        production_server.routes[f"/bad.example/{fault}"] = route  # type: ignore[assignment]
        url = f"https://bad.example/{fault}"
    bad = RssOptions(id="bad", type="rss", url=url)
    good = [s for s in shipped_sources() if s.id == "state-press-releases"]
    results = by_source(poll([bad, *good], store, settings, rewrite_to=production_server))
    assert results["state-press-releases"].status == "ok"
    assert results["state-press-releases"].count("new") == 2
    assert results["bad"].status == "error"
    assert reason in (results["bad"].error or "")
    assert "\n" not in (results["bad"].error or "")
    state = store.source_states()["bad"]
    assert state.consecutive_failures == 1 and reason in (state.last_error or "")
    store.close()


def test_failures_count_up_and_reset_on_success(
    server: FixtureServer, store: Store, settings: Settings
) -> None:
    server.routes["/feed"] = Route(status=500)
    source = RssOptions(id="flaky", type="rss", url=server.url("/feed"))
    poll([source], store, settings)
    poll([source], store, settings)
    assert store.source_states()["flaky"].consecutive_failures == 2
    server.routes["/feed"] = Route(
        body=(FIXTURES / "feeds/atom.xml").read_bytes(), content_type="application/atom+xml"
    )
    [result] = poll([source], store, settings)
    assert result.status == "ok" and result.count("new") == 3
    state = store.source_states()["flaky"]
    assert state.consecutive_failures == 0 and state.last_error is None


def test_unreachable_article_page_keeps_the_feed_text(
    production_server: FixtureServer, store: Store, settings: Settings
) -> None:
    del production_server.routes[PENCE]
    sources = [s for s in shipped_sources() if s.id == "epochtimes-world"]
    [result] = poll(sources, store, settings, rewrite_to=production_server)
    assert result.status == "ok" and result.count("new") == 2
    assert any("HTTP 404" in e for e in result.item_errors)
    pence = next(c.document for c in result.changes if c.document.title.startswith("Pence"))
    assert "full agreement" in pence.body  # the feed's teaser


def test_the_same_bytes_without_validators_are_not_parsed_again(
    server: FixtureServer, store: Store, settings: Settings
) -> None:
    # A server that sends no ETag / Last-Modified (or ignores them) answers 200 every time.
    def rss(*titles: str) -> Route:
        items = "".join(
            f"<item><guid>{t}</guid><link>http://example.org/{t}</link><title>{t}</title></item>"
            for t in titles
        )
        body = f"<rss version='2.0'><channel><title>T</title>{items}</channel></rss>".encode()
        return Route(body=body, content_type="application/rss+xml", conditional=False)

    server.routes["/plain"] = rss("a", "b")
    source = RssOptions(id="plain", type="rss", url=server.url("/plain"))
    [first] = poll([source], store, settings)
    assert first.status == "ok" and first.items == 2 and first.count("new") == 2
    [again] = poll([source], store, settings)
    # The body's digest equals the last one stored: read, not parsed (no items counted).
    assert again.status == "not_modified" and again.items == 0 and again.changes == []
    assert len(server.requests_to("/plain")) == 2
    server.routes["/plain"] = rss("c", "a", "b")
    [changed] = poll([source], store, settings)
    assert changed.status == "ok" and changed.items == 3 and changed.count("new") == 1


def _feed(*items: tuple[str, str]) -> Route:
    """An RSS feed of (guid, description) items, each with its own link and title."""
    body = "".join(
        f"<item><guid>{g}</guid><link>http://example.org/{g}</link><title>Title {g}</title>"
        f"<description>{text}</description></item>"
        for g, text in items
    )
    xml = f"<rss version='2.0'><channel><title>T</title>{body}</channel></rss>"
    return Route(body=xml.encode(), content_type="application/rss+xml")


def _count_calls(monkeypatch: pytest.MonkeyPatch, name: str) -> list[str]:
    """Spy on one of the pipeline's steps: the real function runs, each call is noted."""
    real = getattr(pipeline, name)
    calls: list[str] = []

    def spy(first: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(first, "url", first))
        return real(first, *args, **kwargs)

    monkeypatch.setattr(pipeline, name, spy)
    return calls


def test_known_unchanged_entries_are_neither_normalised_nor_canonicalised_again(
    server: FixtureServer, store: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.routes["/feed"] = _feed(("a", "Alpha."), ("b", "Beta."))
    source = RssOptions(id="feed", type="rss", url=server.url("/feed"))
    [first] = poll([source], store, settings)
    assert first.count("new") == 2
    normalised = _count_calls(monkeypatch, "normalize")
    canonicalised = _count_calls(monkeypatch, "canonical_url")
    server.routes["/feed"] = _feed(("c", "Gamma."), ("a", "Alpha."), ("b", "Beta."))
    [second] = poll([source], store, settings)
    assert second.status == "ok" and second.items == 3
    assert [(c.document.title, c.change) for c in second.changes] == [("Title c", "new")]
    # Only the new entry went through the work: the two known ones were told by their
    # stored fingerprints (after a restart too: this poll's store is the only memory).
    assert normalised == ["http://example.org/c"]
    assert canonicalised == ["http://example.org/c"]


def test_an_edited_entry_is_still_an_update(
    server: FixtureServer, store: Store, settings: Settings
) -> None:
    server.routes["/feed"] = _feed(("a", "Alpha."), ("b", "Beta."))
    source = RssOptions(id="feed", type="rss", url=server.url("/feed"))
    [first] = poll([source], store, settings)
    alpha = next(c.document for c in first.changes if c.document.title == "Title a")
    server.routes["/feed"] = _feed(("a", "Alpha, corrected."), ("b", "Beta."))
    [second] = poll([source], store, settings)
    assert [(c.document.id, c.change) for c in second.changes] == [(alpha.id, "updated")]
    assert [v.body for v in store.versions(alpha.id)] == ["Alpha.", "Alpha, corrected."]


def test_a_database_that_holds_up_commits_holds_up_fetches_not_memory(
    server: FixtureServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another process holds SQLite's write lock for a while: polls cannot commit. Only as
    # many feeds as may await their commit are fetched meanwhile (their bodies wait in
    # memory); the others are requested once the lock is gone, and every poll succeeds.
    monkeypatch.setattr(pipeline, "IN_PROCESS", 3)
    requested: list[str] = []

    def feed(req: BaseHTTPRequestHandler) -> None:
        requested.append(req.path)
        route = _feed((req.path.strip("/"), "Text."))
        req.send_response(200)
        req.send_header("Content-Type", route.content_type)
        req.send_header("Content-Length", str(len(route.body)))
        req.end_headers()
        req.wfile.write(route.body)

    sources = []
    for n in range(12):
        server.routes[f"/f{n}"] = feed
        sources.append(RssOptions(id=f"feed-{n}", type="rss", url=server.url(f"/f{n}")))
    database = tmp_path / "m.db"
    store = Store.open(f"sqlite:///{database}")
    settings = fast_settings(tmp_path, host_concurrency=12)
    lock = sqlite3.connect(database, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    results: list[Any] = []
    polling = threading.Thread(target=lambda: results.extend(poll(sources, store, settings)))
    polling.start()
    time.sleep(1.0)
    while_locked = len(requested)
    lock.execute("ROLLBACK")
    polling.join(30)
    assert while_locked == 3
    assert sorted(r.status for r in results) == ["ok"] * 12
    assert len(requested) == 12
