"""The alerts page: newest first, filters, highlighted sentences, delivery attempts, retry."""

from __future__ import annotations

import re
from datetime import timedelta

from monitor.store import Store
from tests.web.conftest import Client, csrf_of
from tests.web.data import NOW, deliver, doc, record

BIEGUN = doc(
    "media-note",
    "U.S.-ROK Working Group",
    "Special Representative Stephen Biegun met Lee Do-hoon in Seoul.",
)
SANCTIONS = doc(
    "sanctions-1",
    "Treasury acts",
    "The Department will impose sanctions on three vessels. Nothing else changed.",
    source_id="treasury",
    kind="Press Release",
)


def _ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<li class="alert [^"]*" id="alert-(\d+)"', html)]


def test_alerts_show_the_rule_the_document_and_the_highlighted_sentence(
    client: Client, web_store: Store
) -> None:
    record(web_store, "state", [BIEGUN], now=NOW - timedelta(hours=2))
    record(web_store, "treasury", [SANCTIONS], now=NOW - timedelta(hours=1))
    page = client().get("/alerts")
    assert page.status_code == 200
    html = page.text
    assert 'id="alerts"' in html
    sanctions, biegun = _ids(html)  # newest first
    assert sanctions > biegun
    assert "Sanctions change" in html and "Biegun mentioned" in html
    assert '<a href="/documents/media-note">U.S.-ROK Working Group</a>' in html
    assert "<mark>Special Representative</mark> Stephen <mark>Biegun</mark> met" in html
    assert "will <mark>impose</mark> <mark>sanctions</mark> on" in html


def test_filters_by_rule_channel_status_and_date(client: Client, web_store: Store) -> None:
    record(web_store, "state", [BIEGUN], now=NOW - timedelta(days=3))
    record(web_store, "treasury", [SANCTIONS], now=NOW)
    c = client()
    assert len(_ids(c.get("/alerts?rule=sanctions").text)) == 1
    assert "Treasury acts" in c.get("/alerts?rule=sanctions").text
    assert "U.S.-ROK" not in c.get("/alerts?rule=sanctions").text
    assert len(_ids(c.get("/alerts?channel=desk").text)) == 2
    assert _ids(c.get("/alerts?channel=other").text) == []
    assert len(_ids(c.get("/alerts?status=pending").text)) == 2
    assert _ids(c.get("/alerts?status=dead").text) == []
    # Dates are days in MONITOR_TIMEZONE (UTC here); `until` includes its day.
    recent = c.get("/alerts?since=2026-11-30").text
    assert "Treasury acts" in recent and "U.S.-ROK" not in recent
    older = c.get("/alerts?until=2026-11-28").text
    assert "U.S.-ROK" in older and "Treasury acts" not in older
    api = c.get("/api/alerts?rule=biegun&status=pending").json()
    assert api["total"] == 1
    [alert] = api["alerts"]
    assert alert["rule"] == {"id": "biegun", "name": "Biegun mentioned"}
    assert alert["document"]["id"] == "media-note"
    assert alert["matches"][0]["snippet"].startswith("Special Representative Stephen Biegun")


def test_bad_filters_answer_400_naming_the_parameter(client: Client) -> None:
    c = client()
    r = c.get("/alerts?since=yesterday")
    assert r.status_code == 400 and "&#39;since&#39;" in r.text and "YYYY-MM-DD" in r.text
    r = c.get("/api/alerts?status=lost")
    assert r.status_code == 400 and "'status'" in r.json()["error"]
    assert c.get("/alerts?page=0").status_code == 400


def test_pages_of_fifty_newest_first(client: Client, web_store: Store) -> None:
    docs = [
        doc(f"d{i:03d}", f"Release {i}", f"Biegun spoke ({i}).", published_at=NOW)
        for i in range(60)
    ]
    for i, d in enumerate(docs):
        record(web_store, "state", [d], now=NOW + timedelta(minutes=i))
    c = client()
    first = c.get("/alerts").text
    assert len(_ids(first)) == 50 and "Release 59" in first and "page 1 of 2" in first
    second = c.get("/alerts?page=2").text
    assert len(_ids(second)) == 10 and "Release 0<" in second and "Release 59" not in second
    assert 'href="/alerts?page=1"' in second
    # Filters are kept in the paging links.
    assert 'href="/alerts?rule=biegun&amp;page=2"' in c.get("/alerts?rule=biegun").text
    assert c.get("/api/alerts?page=2").json()["total"] == 60


def test_delivery_attempts_are_listed_and_a_dead_alert_can_be_retried(
    client: Client, web_store: Store, tmp_path: object
) -> None:
    record(web_store, "state", [BIEGUN])
    c = client()
    settings = c.app.state.settings  # type: ignore[attr-defined]
    [failed] = deliver(web_store, settings, [503])
    assert failed.status == "pending"
    later = NOW + timedelta(hours=2)
    [dead] = deliver(web_store, settings, [404], now=later)
    assert dead.status == "dead"
    html = c.get("/alerts").text
    assert html.count('<tr class="attempt result-failed">') == 1
    assert html.count('<tr class="attempt result-dead">') == 1
    assert "503" in html and "404" in html
    [alert] = c.get("/api/alerts").json()["alerts"]
    assert [h["result"] for h in alert["history"]] == ["failed", "dead"]
    assert alert["history"][0]["at"] == "2026-12-01T12:00:00Z"
    assert alert["attempts"] == 2 and alert["status"] == "dead"

    # Retrying is a POST with the page's CSRF token; without it nothing happens.
    alert_id = alert["id"]
    refused = c.post(f"/alerts/{alert_id}/retry", data={}, follow_redirects=False)
    assert refused.status_code == 403
    assert c.get("/api/alerts").json()["alerts"][0]["status"] == "dead"
    token = csrf_of(html)
    done = c.post(f"/alerts/{alert_id}/retry", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/alerts?retried={alert_id}"
    assert "is queued again" in c.get(done.headers["location"]).text
    assert c.get("/api/alerts").json()["alerts"][0]["status"] == "pending"
    [sent] = deliver(web_store, settings, [200], now=later + timedelta(minutes=1))
    assert sent.status == "delivered"
    [alert] = c.get("/api/alerts").json()["alerts"]
    assert [h["result"] for h in alert["history"]] == ["failed", "dead", "delivered"]
    # A delivered alert is not retried.
    again = c.post(f"/alerts/{alert_id}/retry", data={"csrf_token": token})
    assert again.status_code == 404


def test_attempts_are_pruned_with_their_alert(client: Client, web_store: Store) -> None:
    record(web_store, "state", [BIEGUN])
    c = client()
    deliver(web_store, c.app.state.settings, [200])  # type: ignore[attr-defined]
    assert c.get("/api/alerts").json()["alerts"][0]["history"]
    web_store.prune(NOW + timedelta(days=1))
    from sqlalchemy import func, select

    from monitor.store.tables import alert_attempts

    with web_store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(alert_attempts)).scalar_one() == 0


def test_an_ops_alert_links_to_its_source(client: Client, web_store: Store) -> None:
    from monitor.health import HealthEvent, health_alert
    from monitor.sources.rss import RssOptions

    source = RssOptions(id="state", type="rss", url="https://www.state.gov/feed/")
    event = HealthEvent("failing", "failed 3 times in a row: HTTP 503")
    web_store.enqueue([health_alert(source, event, "desk", NOW)], NOW)
    html = client().get("/alerts").text
    assert '<a href="/sources/state">Source &#39;state&#39; failing: failed 3 times' in html
    assert "failed 3 times in a row: HTTP 503</blockquote>" in html
