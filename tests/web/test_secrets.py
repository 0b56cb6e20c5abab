"""No secret ever appears on a page: every page reachable by links is checked."""

from __future__ import annotations

import re
from collections import deque

from monitor.store import Store
from tests.test_store import doc
from tests.web.conftest import NOW, TOKEN, Client, log_in

SECRETS = {
    "smtp_password": "smtp-pass-4f9a1c",
    "webhook_secret": "hook-secret-77b2e0",
    "feedback_secret": "feedback-secret-5e81d2",
    "web_token": TOKEN,
}
DB_PASSWORD = "db-pass-0c3d5e"


def test_no_secret_on_any_page(client: Client, web_store: Store) -> None:
    web_store.record_poll("state", [doc()], now=NOW, item_count=1)
    web_store.record_failure("yonhap", "HTTP 500", now=NOW)
    c = client(**SECRETS)
    # The settings the pages hold name a database with a password (the store itself is SQLite).
    settings = c.app.state.settings  # type: ignore[attr-defined]
    c.app.state.settings = settings.model_copy(  # type: ignore[attr-defined]
        update={"database_url": f"postgresql+psycopg://monitor:{DB_PASSWORD}@db/monitor"}
    )
    log_in(c)
    seen: set[str] = set()
    todo = deque(
        ["/", "/api/sources", "/api/channels", "/api/sources/state", "/login", "/healthz", "/nope"]
    )
    while todo and len(seen) < 300:
        path = todo.popleft()
        if path in seen or path.startswith("/static/"):
            continue
        seen.add(path)
        response = c.get(path)
        text = response.text + " ".join(f"{k}: {v}" for k, v in response.headers.items())
        for secret in [*SECRETS.values(), DB_PASSWORD]:
            assert secret not in text, f"{path} shows a secret"
        todo.extend(re.findall(r'href="(/[^"]*)"', response.text))
    assert {"/", "/sources/state", "/sources/yonhap", "/documents/doc-1"} <= seen
