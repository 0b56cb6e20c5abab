"""The web app over a real SQLite store, driven through Starlette's TestClient."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from monitor.settings import Settings
from monitor.store import Store
from monitor.web import Live, create_app
from tests.conftest import fast_settings

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TOKEN = "correct-horse-battery-staple"
Client = Callable[..., TestClient]


@pytest.fixture
def web_store(tmp_path: Path) -> Iterator[Store]:
    store = Store.open(f"sqlite:///{tmp_path}/monitor.db")
    yield store
    store.close()


@pytest.fixture
def client(tmp_path: Path, web_store: Store) -> Iterator[Client]:
    """make(live=..., **settings): a TestClient on the app (closed after the test)."""
    made: list[TestClient] = []

    def make(live: Live | None = None, **overrides: object) -> TestClient:
        settings: Settings = fast_settings(tmp_path, **overrides)
        app = create_app(settings, web_store, (lambda: live) if live else None, clock=lambda: NOW)
        made.append(TestClient(app, base_url="http://127.0.0.1"))
        return made[-1]

    yield make
    for c in made:
        c.close()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf(?:_|-)token" (?:value|content)="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def log_in(client: TestClient, token: str = TOKEN) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"token": token, "csrf_token": csrf_of(page.text), "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
