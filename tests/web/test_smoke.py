from __future__ import annotations

from tests.web.conftest import Client


def test_smoke(client: Client) -> None:
    c = client()
    r = c.get("/")
    print(r.text)
    assert r.status_code == 200
    assert c.get("/healthz").json() == {"status": "ok", "sources": 0}
    assert c.get("/static/style.css").status_code == 200
    assert c.get("/alerts").status_code == 200
    assert c.get("/api/sources").json() == []
