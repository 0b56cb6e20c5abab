"""/healthz: down (503 with the reason), degraded (200, failing sources listed), ok."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine

from monitor.store import Store
from monitor.web import Live
from tests.web.conftest import NOW, Client


def test_ok_when_every_source_works(client: Client, web_store: Store) -> None:
    web_store.record_poll("state", [], now=NOW, item_count=0)
    response = client(Live(sources=("state", "never"), scheduler=True, rules=2)).get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "sources": 2, "rules": 2}


def test_degraded_lists_the_failing_sources(client: Client, web_store: Store) -> None:
    web_store.record_poll("state", [], now=NOW, item_count=3)
    web_store.record_failure("yonhap", "HTTP 503 Service Unavailable", now=NOW)
    web_store.record_failure("removed", "gone", now=NOW)  # no longer configured: not counted
    live = Live(sources=("state", "yonhap"), scheduler=True, rules=1)
    response = client(live).get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "sources": 2,
        "rules": 1,
        "failing": ["yonhap"],
    }


def test_503_when_the_scheduler_is_stopped(client: Client) -> None:
    response = client(Live(sources=("state",), scheduler=False)).get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unhealthy", "reason": "scheduler is not running"}


def test_503_when_the_database_is_unreachable(client: Client, tmp_path: Path) -> None:
    c = client(Live(sources=("state",), scheduler=True))
    away = Store(create_engine(f"sqlite:///{tmp_path}/no/such/dir/monitor.db"))
    c.app.state.store = away  # type: ignore[attr-defined]
    response = c.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["reason"].startswith("database: ") and "unable to open" in body["reason"]
    away.close()


def test_monitor_web_has_no_scheduler_to_be_down(client: Client) -> None:
    assert client(Live(sources=("state",))).get("/healthz").json() == {"status": "ok", "sources": 1}
