"""Scraped text is hostile: markup in a title, a body or a query shows as text on every
page; and no secret ever appears on a page."""

from __future__ import annotations

from pathlib import Path

from monitor.store import Store
from tests.web.conftest import Client, csrf_of
from tests.web.data import RULES_YAML, doc, record

SCRIPT = "<script>alert(1)</script>"
TITLE = f"Biegun {SCRIPT} visit"
BODY = f'Special Representative Biegun <img src=x onerror="alert(2)"> met {SCRIPT} Lee.'
BODY_2 = BODY + " Sanctions were not lifted <b>today</b>."


def _hostile(store: Store) -> None:
    record(store, "state", [doc("evil", TITLE, BODY)])
    record(store, "state", [doc("evil", TITLE, BODY_2)])


def _assert_inert(html: str) -> None:
    assert "<script>" not in html and "<img" not in html and "<b>today" not in html
    assert 'onerror="alert' not in html


def test_markup_in_titles_bodies_and_queries_renders_as_text(
    client: Client, web_store: Store, tmp_path: Path
) -> None:
    _hostile(web_store)
    config = tmp_path / "config"
    config.mkdir()
    (config / "rules.yaml").write_text(RULES_YAML, encoding="utf-8")
    c = client(config_dir=config)
    pages = [
        c.get("/alerts"),
        c.get("/documents"),
        c.get("/documents", params={"q": "Biegun"}),
        c.get("/documents/evil"),
        c.get("/documents/evil?view=changes"),
        c.get("/try", params={"q": "Biegun"}),
        c.get("/try", params={"q": f"Biegun AND {SCRIPT}"}),  # a syntax error, shown
        c.get("/try", params={"q": f'Biegun OR "{SCRIPT}"'}),
    ]
    for page in pages:
        _assert_inert(page.text)
    assert "Biegun &lt;script&gt;alert(1)&lt;/script&gt; visit" in pages[1].text
    assert "&lt;img src=x onerror=" in pages[3].text
    assert "<ins>Sanctions were not lifted &lt;b&gt;today&lt;/b&gt;.</ins>" in pages[3].text
    token = csrf_of(pages[5].text)
    pasted = c.post("/try", data={"q": "Biegun", "text": BODY, "csrf_token": token})
    _assert_inert(pasted.text)
    assert "<mark>Biegun</mark> &lt;img" in pasted.text


def test_no_secret_appears_on_any_page(client: Client, web_store: Store) -> None:
    _hostile(web_store)
    c = client(smtp_password="smtp-pass-Zq9", webhook_secret="hook-secret-Zq9", web_token=None)
    for path in (
        "/alerts",
        "/api/alerts",
        "/documents",
        "/documents/evil",
        "/api/documents/evil",
        "/try?q=Biegun",
        "/api/rules/try?q=Biegun",
    ):
        text = c.get(path).text
        assert "Zq9" not in text, path


def test_the_new_pages_need_the_login_when_a_token_is_set(client: Client, web_store: Store) -> None:
    from tests.web.conftest import TOKEN, log_in

    _hostile(web_store)
    c = client(web_token=TOKEN)
    for path in ("/alerts", "/documents", "/documents/evil", "/try?q=Biegun"):
        response = c.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    for path in ("/api/alerts", "/api/documents", "/api/documents/evil", "/api/rules/try?q=x"):
        assert c.get(path).status_code == 401
    refused = c.post("/alerts/1/retry", data={}, follow_redirects=False)
    assert refused.status_code == 303 and refused.headers["location"].startswith("/login")
    log_in(c)
    assert c.get("/api/documents/evil").status_code == 200
    assert c.get("/try", params={"q": "Biegun"}).status_code == 200
