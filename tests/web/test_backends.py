"""The new pages' queries on every store backend (PostgreSQL where a server answers)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from starlette.testclient import TestClient

from monitor.store import Store
from monitor.web import create_app
from tests.conftest import fast_settings
from tests.web.data import NOW, deliver, doc, record


def test_alerts_documents_and_try_on_every_backend(store: Store, tmp_path: Path) -> None:
    settings = fast_settings(tmp_path)
    record(store, "state", [doc("a", "Biegun in Seoul", "Special Representative Biegun met Lee.")])
    record(
        store,
        "state",
        [doc("a", "Biegun in Seoul", "Special Representative Biegun met Kang.")],
        now=NOW + timedelta(hours=1),
    )
    record(store, "state", [doc("b", "Undated", "Biegun again.", published_at=None)])
    deliver(store, settings, [503, 503, 503])
    app = create_app(settings, store, clock=lambda: NOW)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        alerts = c.get("/api/alerts?rule=biegun&since=2026-11-01").json()
        assert alerts["total"] == 2  # the update matched before: no second alert
        assert {h["result"] for a in alerts["alerts"] for h in a["history"]} == {"failed"}
        assert c.get("/alerts?status=pending").status_code == 200
        listing = c.get("/api/documents?source=state").json()
        # The listing dates an undated document by when it was first seen (today)…
        assert [d["id"] for d in listing["documents"]] == ["b", "a"]
        # … a search (which walks the publication-date index) lists it last.
        found = c.get("/api/documents?q=Biegun").json()
        assert [d["id"] for d in found["documents"]] == ["a", "b"] and found["complete"]
        assert c.get("/api/documents/a").json()["diff"]["inserted"] == 1
        assert c.get("/documents/a").status_code == 200
        assert c.get("/api/rules/try?q=Kang").json()["total"] == 1
