"""The overview, a source's page and their JSON, over a real SQLite store."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from monitor.store import Store
from monitor.store.outbox import NewAlert
from monitor.store.tables import outbox
from monitor.web import Live
from tests.test_store import doc
from tests.web.conftest import NOW, Client

HOSTILE = '<script>alert("owned")</script>'
LIVE = Live(
    sources=("state", "yonhap", "empty", "never"),
    scheduler=True,
    next_polls={"state": NOW + timedelta(minutes=7)},
    rules=1,
)


def alert(key: str, when: datetime, store: Store) -> None:
    store.enqueue([NewAlert(key, "hook", "rule", "doc-1", 1, {"k": key})], when)


@pytest.fixture
def polled(web_store: Store) -> Store:
    """state works, yonhap fails since an hour ago, empty listed nothing, never: no poll."""
    store = web_store
    store.record_poll(
        "state", [doc(title=f"{HOSTILE} Biegun")], now=NOW - timedelta(hours=1), item_count=3
    )
    store.record_poll(
        "state", [doc("Older.", id="doc-2")], now=NOW - timedelta(days=1), item_count=3
    )
    store.record_poll("state", [doc("Old.", id="doc-3")], now=NOW - timedelta(days=9))
    store.record_poll("yonhap", [], now=NOW - timedelta(hours=3), item_count=4)
    for hours in (1, 0.5):
        store.record_failure(
            "yonhap", f"{HOSTILE} HTTP 503", now=NOW - timedelta(hours=hours), http_status=503
        )
    store.record_poll("empty", [], now=NOW - timedelta(hours=2), item_count=5)
    store.record_poll("empty", [], now=NOW - timedelta(hours=1), item_count=0)
    alert("today", NOW - timedelta(hours=1), store)
    alert("monday", NOW - timedelta(days=1), store)
    alert("dead", NOW - timedelta(days=20), store)
    with store.engine.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.idempotency_key == "dead").values(status="dead"))
    return store


def test_api_sources_gives_each_sources_status(client: Client, polled: Store) -> None:
    sources = {s["id"]: s for s in client(LIVE).get("/api/sources").json()}
    assert [s for s in sources] == ["state", "yonhap", "empty", "never"]
    assert {k: s["status"] for k, s in sources.items()} == {
        "state": "ok",
        "yonhap": "failing",
        "empty": "empty",
        "never": "never_polled",
    }
    yonhap = sources["yonhap"]
    assert yonhap["consecutive_failures"] == 2
    assert yonhap["last_poll"] == "2026-12-01T11:30:00Z"
    assert yonhap["last_success"] == "2026-12-01T09:00:00Z"
    assert yonhap["failing_since"] == "2026-12-01T11:00:00Z"
    assert yonhap["last_error"] == f"{HOSTILE} HTTP 503"
    assert sources["state"]["next_poll"] == "2026-12-01T12:07:00Z"
    assert sources["never"]["last_poll"] is None


def test_the_overview_shows_sources_and_activity(client: Client, polled: Store) -> None:
    page = client(LIVE).get("/")
    assert page.status_code == 200
    html = page.text
    assert 'id="sources"' in html
    assert re.search(r'<tr id="source-yonhap" class="source status-failing"', html)
    assert re.search(r'<tr id="source-never" class="source status-never-polled"', html)
    assert re.search(r'<tr id="source-empty" class="source status-empty"', html)
    assert "empty listing" in html and "never polled" in html
    assert 'since <time datetime="2026-12-01T11:00:00Z">2026-12-01 11:00</time>' in html
    # Next poll from the scheduler.
    assert '<time datetime="2026-12-01T12:07:00Z">' in html

    def count(element_id: str) -> str:
        found = re.search(rf'id="{element_id}">.*?<dd>(.*?)</dd>', html, re.S)
        assert found, element_id
        return re.sub(r"<[^>]+>", "", found.group(1))

    assert count("documents-today") == "1"
    assert count("documents-week") == "2"
    assert count("alerts-today") == "1"
    assert count("alerts-week") == "2"
    assert count("outbox-depth") == "2"
    assert count("dead-alerts") == "1"


def test_monitor_web_shows_no_next_poll(client: Client, polled: Store) -> None:
    html = client(Live(sources=LIVE.sources)).get("/").text
    assert 'id="no-scheduler"' in html


def test_a_source_page_shows_its_polls_and_documents(client: Client, polled: Store) -> None:
    c = client(LIVE)
    html = c.get("/sources/yonhap").text
    assert 'id="polls"' in html
    assert html.count('class="poll status-error"') == 2
    assert html.count('class="poll status-ok"') == 1
    assert '<td class="num">503</td>' in html

    state = c.get("/sources/state").text
    assert 'href="/documents/doc-1"' in state and 'href="/documents/doc-2"' in state

    api = c.get("/api/sources/yonhap").json()
    assert api["status"] == "failing"
    assert [p["status"] for p in api["polls"]] == ["error", "error", "ok"]
    assert api["polls"][0]["http_status"] == 503
    assert api["polls"][2]["items"] == 4


def test_an_unknown_source_is_404(client: Client, polled: Store) -> None:
    c = client(LIVE)
    page = c.get("/sources/nope")
    assert page.status_code == 404 and "No source with id &#39;nope&#39;" in page.text
    api = c.get("/api/sources/nope")
    assert api.status_code == 404 and api.json() == {"error": "No source with id 'nope'"}


def test_scraped_text_is_shown_as_text(client: Client, polled: Store) -> None:
    c = client(LIVE)
    for path in ("/", "/sources/yonhap", "/sources/state"):
        html = c.get(path).text
        assert "<script>" not in html, path
        assert "&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt;" in html, path


def test_pages_forbid_scripts_from_elsewhere(client: Client) -> None:
    response = client().get("/")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"  # internal data: never cached


def test_every_page_is_in_the_nav(client: Client) -> None:
    c = client()
    html = c.get("/").text
    for href in ("/", "/alerts", "/documents", "/try"):
        assert f'href="{href}"' in html
        assert c.get(href).status_code == 200
