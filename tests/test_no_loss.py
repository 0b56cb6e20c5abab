"""Never lose a release, never alert twice: identity and retry paths of the poll pipeline.

Every test drives the real pipeline (loopback fixture server, real Fetcher) into a real
store (SQLite, and PostgreSQL where a server answers).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from html import escape
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from monitor.fetch import Fetcher
from monitor.fixture_server import FixtureServer, Route
from monitor.models import PollResult
from monitor.normalize.urls import document_id
from monitor.pipeline import PollContext, run_source
from monitor.rules import Rule, RuleSet, parse_query
from monitor.settings import Settings
from monitor.sources.page import PageOptions
from monitor.sources.rss import RssOptions
from monitor.store import Store
from tests.conftest import fast_settings, poll

RSS = "application/rss+xml; charset=utf-8"


def feed(*entries: tuple[str, str, str, str], build: str = "1") -> bytes:
    """An RSS feed of (guid, link, title, summary) entries; `build` changes its bytes."""
    items = "".join(
        f"<item><guid isPermaLink='false'>{escape(guid)}</guid><link>{escape(link)}</link>"
        f"<title>{escape(title)}</title><description>{escape(summary)}</description>"
        "<pubDate>Tue, 20 Nov 2018 16:06:00 -0500</pubDate></item>"
        for guid, link, title, summary in entries
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>T</title>"
        f"<link>http://example.org/</link><lastBuildDate>{build}</lastBuildDate>"
        f"{items}</channel></rss>"
    ).encode()


def article(title: str, body: str) -> Route:
    paragraphs = "".join(f"<p>{body} Paragraph {n} of the release.</p>" for n in range(4))
    return Route(
        body=f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        f"<div class='text'>{paragraphs}</div></article></body></html>".encode()
    )


def ruleset(query: str = "biegun") -> RuleSet:
    return RuleSet([Rule("biegun", "Biegun named", query, parse_query(query))])


def new_titles(results: list[Any]) -> list[str]:
    return sorted(c.document.title for r in results for c in r.changes if c.change == "new")


# -- 1. a failed follow-up is retried, across polls and restarts ---------------------------


@pytest.mark.parametrize(
    "failure",
    [Route(status=503, body=b"busy"), Route(body=b"late", delay=0.5)],
    ids=["503", "timeout"],
)
def test_article_that_fails_once_is_fetched_on_the_next_poll_even_after_a_restart(
    failure: Route, server: FixtureServer, store: Store, tmp_path: Path
) -> None:
    settings = fast_settings(tmp_path, fetch_read_timeout=0.1, fetch_attempts=2)
    server.routes["/a"] = article("Release A", "Alpha text.")
    server.routes["/b"] = failure
    server.routes["/feed"] = Route(
        body=feed(
            ("a", server.url("/a"), "Release A", "teaser a"),
            ("b", server.url("/b"), "Release B", "teaser b"),
        ),
        content_type=RSS,
    )
    source = RssOptions(
        id="news", type="rss", url=server.url("/feed"), follow_links=True, allow_private=True
    )
    [first] = poll([source], store, settings)
    assert first.status == "ok" and new_titles([first]) == ["Release A"]
    assert any("will retry" in e for e in first.item_errors)

    server.routes["/b"] = article("Release B", "Bravo text.")
    restarted = Store(store.engine)  # nothing kept in memory: the retry lives in the database
    [second] = poll([source], restarted, settings)
    assert second.status == "ok" and new_titles([second]) == ["Release B"]
    assert "Bravo text." in next(c.document.body for c in second.changes if c.change == "new")
    # Everything followed: now the feed may be answered 304.
    [third] = poll([source], restarted, settings)
    assert third.status == "not_modified"


def test_entries_beyond_max_follow_are_followed_on_later_polls(
    server: FixtureServer, store: Store, settings: Settings
) -> None:
    entries = []
    for name in "abc":
        server.routes[f"/{name}"] = article(f"Release {name}", f"Text of {name}.")
        entries.append((name, server.url(f"/{name}"), f"Release {name}", "teaser"))
    server.routes["/feed"] = Route(body=feed(*entries), content_type=RSS)
    source = RssOptions(
        id="news",
        type="rss",
        url=server.url("/feed"),
        follow_links=True,
        allow_private=True,
        max_follow=2,
    )
    results = [poll([source], store, settings)[0] for _ in range(3)]
    assert [r.status for r in results] == ["ok", "ok", "not_modified"]
    assert new_titles(results) == ["Release a", "Release b", "Release c"]
    assert store.count_documents() == 3


def _poll_with(source: RssOptions, store: Store, settings: Settings, **context: Any) -> PollResult:
    async def run() -> PollResult:
        async with Fetcher(settings) as fetcher:
            return await run_source(source, PollContext(fetcher=fetcher, store=store, **context))

    return asyncio.run(run())


def test_an_article_that_keeps_failing_is_stored_with_the_feed_text_then_completed(
    server: FixtureServer, store: Store, settings: Settings
) -> None:
    server.routes["/a"] = Route(status=503, body=b"busy")
    entry = ("a", server.url("/a"), "Release A", "The feed's teaser.")
    server.routes["/feed"] = Route(body=feed(entry, build="1"), content_type=RSS)
    source = RssOptions(
        id="news", type="rss", url=server.url("/feed"), follow_links=True, allow_private=True
    )
    results = [_poll_with(source, store, settings, follow_attempts=3) for _ in range(4)]
    assert [r.status for r in results] == ["ok", "ok", "ok", "not_modified"]
    assert [new_titles([r]) for r in results] == [[], [], ["Release A"], []]
    assert "failed in 3 polls" in results[2].item_errors[0]
    [doc] = [c.document for c in results[2].changes]
    assert doc.body == "The feed's teaser."

    server.routes["/a"] = article("Release A", "The full release.")
    server.routes["/feed"] = Route(body=feed(entry, build="2"), content_type=RSS)
    [done] = _poll_with(source, store, settings).changes
    assert done.change == "updated" and "The full release." in done.document.body


def test_a_retried_page_is_fetched_in_full_even_if_another_source_cached_it(
    server: FixtureServer, store: Store, settings: Settings
) -> None:
    server.routes["/a"] = article("Release A", "Alpha text.")
    other = RssOptions(
        id="other", type="rss", url=server.url("/other"), follow_links=True, allow_private=True
    )
    server.routes["/other"] = Route(
        body=feed(("x", server.url("/a"), "Release A", "t")), content_type=RSS
    )
    server.routes["/feed"] = Route(
        body=feed(("a", server.url("/a"), "Release A", "t")), content_type=RSS
    )
    source = RssOptions(
        id="news", type="rss", url=server.url("/feed"), follow_links=True, allow_private=True
    )
    page = server.routes["/a"]
    server.routes["/a"] = Route(status=503)
    [first] = poll([source], store, settings)
    assert first.item_errors and not first.changes
    server.routes["/a"] = page
    poll([other], store, settings)  # stores the page's validators
    [second] = poll([source], store, settings)
    assert [c.change for c in second.changes] == ["sighting"]
    assert store.sightings_of(second.changes[0].document.id) == ["news", "other"]


# -- 2. a short article outage never replaces the full text, never alerts twice -----------


def test_article_outage_keeps_the_full_text_and_sends_no_second_alert(
    server: FixtureServer, store: Store, settings: Settings
) -> None:
    server.routes["/a"] = article("Working Group", "Special Representative Biegun met Lee.")
    entry = ("a", server.url("/a"), "Working Group", "The two sides met in Washington.")
    server.routes["/feed"] = Route(body=feed(entry, build="1"), content_type=RSS)
    source = RssOptions(
        id="news", type="rss", url=server.url("/feed"), follow_links=True, allow_private=True
    )
    rules = ruleset()
    [first] = poll([source], store, settings, rules=rules)
    [doc] = [c.document for c in first.changes]
    assert "Biegun" in doc.body

    del server.routes["/a"]  # 404 for one poll, while the feed is rebuilt
    server.routes["/feed"] = Route(body=feed(entry, build="2"), content_type=RSS)
    [outage] = poll([source], store, settings, rules=rules)
    assert any("HTTP 404" in e for e in outage.item_errors)
    assert [c.change for c in outage.changes] == ["unchanged"]

    server.routes["/a"] = article("Working Group", "Special Representative Biegun met Lee.")
    server.routes["/feed"] = Route(body=feed(entry, build="3"), content_type=RSS)
    [back] = poll([source], store, settings, rules=rules)
    assert back.status == "ok" and {c.change for c in back.changes} <= {"unchanged"}
    assert [v.version for v in store.versions(doc.id)] == [1]
    assert len(store.matches(rule_id="biegun")) == 1


def test_content_the_document_already_had_is_not_an_update(
    server: FixtureServer, store: Store, settings: Settings
) -> None:
    source = RssOptions(id="news", type="rss", url=server.url("/feed"))

    def publish(summary: str, build: str) -> list[str]:
        entry = ("a", "http://example.org/a", "Working Group", summary)
        server.routes["/feed"] = Route(body=feed(entry, build=build), content_type=RSS)
        [result] = poll([source], store, settings, rules=ruleset())
        return [c.change for c in result.changes]

    assert publish("Biegun met Lee.", "1") == ["new"]
    assert publish("Biegun met Lee in Seoul.", "2") == ["updated"]
    assert publish("Biegun met Lee.", "3") == ["unchanged"]  # the edit was reverted
    assert len(store.matches(rule_id="biegun")) == 1


# -- 3. releases on one page keep their identity when the page grows ----------------------


def _briefings(*days: tuple[str, str]) -> Route:
    releases = "".join(
        f"<article class='release'><h2>Department Press Briefing</h2>"
        f"<p class='date'>{date}</p><div class='body'><p>{body}</p></div></article>"
        for date, body in days
    )
    return Route(body=f"<html><body><main>{releases}</main></body></html>".encode())


def test_a_release_added_at_the_top_of_a_page_does_not_shift_identities(
    server: FixtureServer, store: Store, settings: Settings
) -> None:
    monday = ("November 19, 2018", "Monday's briefing on North Korea.")
    tuesday = ("November 20, 2018", "Tuesday's briefing on sanctions.")
    server.routes["/briefings"] = _briefings(monday)
    source = PageOptions(
        id="briefings",
        type="page",
        url=server.url("/briefings"),
        article={"release": "article.release", "date": ".date", "body": ".body"},  # type: ignore[arg-type]
    )
    [first] = poll([source], store, settings)
    [monday_doc] = [c.document for c in first.changes]
    server.routes["/briefings"] = _briefings(tuesday, monday)
    [second] = poll([source], store, settings)
    assert [c.document.body for c in second.changes if c.change == "new"] == [tuesday[1]]
    assert {c.change for c in second.changes} == {"new"}
    assert [v.body for v in store.versions(monday_doc.id)] == [monday[1]]
    assert store.count_documents() == 2


# -- 4. entries of one feed that share a link are told apart by their guid ----------------


def test_entries_sharing_a_link_are_separate_documents_for_good(
    server: FixtureServer, store: Store, settings: Settings
) -> None:
    link = "http://example.org/briefing"
    first_entry = ("guid-1", link, "Briefing one", "First briefing.")
    second_entry = ("guid-2", link, "Briefing two", "Second briefing.")
    source = RssOptions(id="news", type="rss", url=server.url("/feed"))
    server.routes["/feed"] = Route(body=feed(first_entry, build="1"), content_type=RSS)
    [one] = poll([source], store, settings)
    [first_doc] = [c.document for c in one.changes]

    server.routes["/feed"] = Route(
        body=feed(second_entry, first_entry, build="2"), content_type=RSS
    )
    [two] = poll([source], store, settings)
    [(change, second_id)] = [(c.change, c.document.id) for c in two.changes]
    assert change == "new" and second_id != first_doc.id

    # The first entry leaves the feed and the second is edited: it stays its own document.
    edited = ("guid-2", link, "Briefing two", "Second briefing, corrected.")
    server.routes["/feed"] = Route(body=feed(edited, build="3"), content_type=RSS)
    [three] = poll([source], store, settings)
    assert [(c.change, c.document.id) for c in three.changes] == [("updated", second_id)]
    assert store.count_documents() == 2
    assert [v.version for v in store.versions(first_doc.id)] == [1]


def test_two_new_entries_sharing_a_link_both_stored(
    server: FixtureServer, store: Store, settings: Settings
) -> None:
    link = "http://example.org/briefing"
    server.routes["/feed"] = Route(
        body=feed(("g1", link, "One", "First."), ("g2", link, "Two", "Second.")),
        content_type=RSS,
    )
    [result] = poll([RssOptions(id="news", type="rss", url=server.url("/feed"))], store, settings)
    assert new_titles([result]) == ["One", "Two"]
    assert store.count_documents() == 2


def test_an_ordinary_entry_keeps_the_id_of_its_url(
    server: FixtureServer, store: Store, settings: Settings
) -> None:
    server.routes["/feed"] = Route(
        body=feed(("g1", "http://example.org/a?utm_source=rss", "One", "First.")),
        content_type=RSS,
    )
    [result] = poll([RssOptions(id="news", type="rss", url=server.url("/feed"))], store, settings)
    assert [c.document.id for c in result.changes] == [document_id("http://example.org/a")]


# -- 5. validators are cached only once committed -----------------------------------------


@pytest.fixture
def failing_commit(store: Store) -> Iterator[list[bool]]:
    """Set `armed[0] = True` to make the next commit that writes something fail."""
    armed = [False]

    def wrote(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE")):
            conn.info["wrote"] = True

    def fail(conn: Any) -> None:
        if conn.info.pop("wrote", False) and armed[0]:
            armed[0] = False
            raise RuntimeError("disk full")

    event.listen(store.engine, "after_cursor_execute", wrote)
    event.listen(store.engine, "commit", fail)
    yield armed
    event.remove(store.engine, "commit", fail)
    event.remove(store.engine, "after_cursor_execute", wrote)


def test_a_poll_whose_commit_fails_is_fetched_in_full_next_time(
    server: FixtureServer, store: Store, settings: Settings, failing_commit: list[bool]
) -> None:
    server.routes["/feed"] = Route(
        body=feed(("a", "http://example.org/a", "Release A", "Text.")), content_type=RSS
    )
    source = RssOptions(id="news", type="rss", url=server.url("/feed"))
    failing_commit[0] = True
    [failed] = poll([source], store, settings)
    assert failed.status == "error" and store.count_documents() == 0
    [retried] = poll([source], store, settings)
    assert retried.status == "ok" and new_titles([retried]) == ["Release A"]
    assert store.count_documents() == 1


# -- 6. one malformed link is an item error ----------------------------------------------


def test_a_malformed_link_is_an_item_error_and_the_other_entries_are_stored(
    server: FixtureServer, store: Store, settings: Settings
) -> None:
    server.routes["/feed"] = Route(
        body=feed(
            ("bad", "http://example.org:99999/x", "Broken", "Bad port."),
            ("good", "http://example.org/good", "Good", "Fine."),
        ),
        content_type=RSS,
    )
    source = RssOptions(id="news", type="rss", url=server.url("/feed"))
    [result] = poll([source], store, settings)
    assert result.status == "ok" and new_titles([result]) == ["Good"]
    assert any("'http://example.org:99999/x' is not a valid URL" in e for e in result.item_errors)
    # The bad entry holds nothing up: the next poll is an ordinary conditional one.
    [again] = poll([source], store, settings)
    assert again.status == "not_modified"
    assert [r.title for r in store.recent_documents("news")] == ["Good"]


def test_a_malformed_link_is_an_item_error_when_following_links(
    server: FixtureServer, store: Store, settings: Settings
) -> None:
    server.routes["/good"] = article("Good", "Fine text.")
    server.routes["/feed"] = Route(
        body=feed(
            ("bad", "http://example.org:port/x", "Broken", "Bad port."),
            ("good", server.url("/good"), "Good", "Fine."),
        ),
        content_type=RSS,
    )
    source = RssOptions(
        id="news", type="rss", url=server.url("/feed"), follow_links=True, allow_private=True
    )
    [result] = poll([source], store, settings)
    assert result.status == "ok" and new_titles([result]) == ["Good"]
    assert any("example.org:port" in e for e in result.item_errors)


def test_the_link_fetched_is_the_one_the_feed_gave(
    server: FixtureServer, store: Store, settings: Settings
) -> None:
    asked: list[str] = []
    page = article("Print view", "Printable text.")

    def record(req: BaseHTTPRequestHandler) -> None:
        asked.append(req.path)
        req.send_response(200)
        req.send_header("Content-Type", "text/html")
        req.send_header("Content-Length", str(len(page.body)))
        req.end_headers()
        req.wfile.write(page.body)

    server.routes["/page"] = record
    server.routes["/feed"] = Route(
        body=feed(("p", server.url("/page?print&utm_source=rss"), "Print view", "t")),
        content_type=RSS,
    )
    source = RssOptions(
        id="news", type="rss", url=server.url("/feed"), follow_links=True, allow_private=True
    )
    [result] = poll([source], store, settings)
    assert result.status == "ok" and new_titles([result]) == ["Print view"]
    assert asked == ["/page?print&utm_source=rss"]
    [doc] = [c.document for c in result.changes]
    assert doc.url == server.url("/page?print")


def test_a_malformed_link_on_a_listing_page_is_an_item_error(
    server: FixtureServer, store: Store, settings: Settings
) -> None:
    server.routes["/list"] = Route(
        body=b"<ul><li><a href='http://[::1/x'>Broken</a></li>"
        b"<li><a href='/good'>Good</a></li></ul>"
    )
    server.routes["/good"] = article("Good", "Fine text.")
    source = PageOptions(
        id="list",
        type="page",
        url=server.url("/list"),
        listing={"item": "li"},  # type: ignore[arg-type]
        follow_links=True,
        allow_private=True,
    )
    [result] = poll([source], store, settings)
    assert result.status == "ok" and new_titles([result]) == ["Good"]
    assert any("'http://[::1/x' is not a valid URL" in e for e in result.item_errors)


def test_entries_sharing_a_followed_link_keep_their_own_text(
    server: FixtureServer, store: Store, settings: Settings
) -> None:
    server.routes["/briefings"] = article("Briefings", "The index of daily briefings.")
    link = server.url("/briefings")
    server.routes["/feed"] = Route(
        body=feed(("g1", link, "Monday", "Monday's notes."), ("g2", link, "Tuesday", "Tuesday's.")),
        content_type=RSS,
    )
    source = RssOptions(
        id="news", type="rss", url=server.url("/feed"), follow_links=True, allow_private=True
    )
    [result] = poll([source], store, settings)
    assert result.status == "ok" and new_titles([result]) == ["Briefings", "Tuesday"]
    assert store.count_documents() == 2


def test_entries_without_a_link_are_stored_and_never_followed(
    server: FixtureServer, store: Store, settings: Settings
) -> None:
    def linkless(build: str) -> bytes:
        return (
            "<?xml version='1.0'?><rss version='2.0'><channel><title>T</title>"
            f"<link>{server.url('/home')}</link><lastBuildDate>{build}</lastBuildDate>"
            "<item><guid isPermaLink='false'>urn:note:1</guid><title>Note one</title>"
            "<description>First note.</description></item>"
            "<item><title>Note two</title><pubDate>Tue, 20 Nov 2018 16:06:00 -0500</pubDate>"
            "<description>Second note.</description></item>"
            "<item><title>Note three</title><pubDate>Wed, 21 Nov 2018 16:06:00 -0500</pubDate>"
            "<description>Third note.</description></item>"
            "</channel></rss>"
        ).encode()

    server.routes["/feed"] = Route(body=linkless("1"), content_type=RSS)
    source = RssOptions(
        id="notes", type="rss", url=server.url("/feed"), follow_links=True, allow_private=True
    )
    [first] = poll([source], store, settings)
    assert new_titles([first]) == ["Note one", "Note three", "Note two"]
    assert server.requests_to("/home") == []
    ids = {c.document.title: c.document.id for c in first.changes}
    server.routes["/feed"] = Route(body=linkless("2"), content_type=RSS)
    [second] = poll([source], store, settings)
    assert second.status == "ok" and {c.change for c in second.changes} <= {"unchanged"}
    assert store.count_documents() == 3 and len(set(ids.values())) == 3
