"""Login with MONITOR_WEB_TOKEN, logout, CSRF on every POST, and where the pages may listen."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter
from starlette.testclient import TestClient

from monitor.errors import MonitorError
from monitor.web import create_app
from monitor.web.auth import check_exposure
from tests.conftest import fast_settings
from tests.web.conftest import TOKEN, Client, csrf_of, log_in


def test_without_a_token_the_pages_are_open(client: Client) -> None:
    c = client()
    assert c.get("/").status_code == 200
    assert c.get("/api/sources").status_code == 200
    assert 'id="logout"' not in c.get("/").text
    assert c.get("/login", follow_redirects=False).headers["location"] == "/"


def test_with_a_token_pages_ask_for_a_login_and_api_answers_401(client: Client) -> None:
    c = client(web_token=TOKEN)
    page = c.get("/sources/state?x=1", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Fsources%2Fstate%3Fx%3D1"
    api = c.get("/api/sources")
    assert api.status_code == 401 and api.json() == {"error": "login required"}
    # Ops' probes stay open.
    assert c.get("/healthz").status_code == 200
    assert c.get("/static/style.css").status_code == 200


def test_metrics_stay_open_behind_a_login(client: Client) -> None:
    registry = CollectorRegistry()
    Counter("monitor_polls_total", "Polls", registry=registry).inc()
    c = client(web_token=TOKEN)
    app = create_app(c.app.state.settings, c.app.state.store, metrics=registry)  # type: ignore[attr-defined]
    with TestClient(app) as probe:
        response = probe.get("/metrics")
    assert response.status_code == 200 and "monitor_polls_total 1.0" in response.text


def test_log_in_and_out(client: Client) -> None:
    c = client(web_token=TOKEN)
    form = c.get("/login?next=/sources/state")
    assert form.status_code == 200 and 'id="login-form"' in form.text
    wrong = c.post(
        "/login", data={"token": "not-the-token", "csrf_token": csrf_of(form.text), "next": "/"}
    )
    assert wrong.status_code == 401 and "Wrong token." in wrong.text
    assert c.get("/", follow_redirects=False).status_code == 303

    right = c.post(
        "/login",
        data={"token": TOKEN, "csrf_token": csrf_of(form.text), "next": "/api/sources"},
        follow_redirects=False,
    )
    assert right.status_code == 303 and right.headers["location"] == "/api/sources"
    cookie = right.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    home = c.get("/")
    assert home.status_code == 200 and 'id="logout"' in home.text
    assert c.get("/api/sources").status_code == 200

    out = c.post("/logout", data={"csrf_token": csrf_of(home.text)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert c.get("/", follow_redirects=False).status_code == 303
    assert c.get("/api/sources").status_code == 401


def test_login_goes_back_to_this_site_only(client: Client) -> None:
    c = client(web_token=TOKEN)
    form = c.get("/login")
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = c.post(
            "/login",
            data={"token": TOKEN, "csrf_token": csrf_of(form.text), "next": target},
            follow_redirects=False,
        )
        assert response.headers["location"] == "/", target
        form = c.get("/")  # logged in (a fresh session): every page carries its token


def test_a_post_without_the_sessions_csrf_token_is_refused(client: Client) -> None:
    c = client(web_token=TOKEN)
    c.get("/login")
    missing = c.post("/login", data={"token": TOKEN, "next": "/"})
    assert missing.status_code == 403 and "expired" in missing.text
    forged = c.post("/login", data={"token": TOKEN, "csrf_token": "forged", "next": "/"})
    assert forged.status_code == 403
    assert c.get("/", follow_redirects=False).status_code == 303  # still logged out

    log_in(c)
    home = c.get("/")
    # Another site's form (no token) cannot log the user out.
    assert c.post("/logout", data={}).status_code == 403
    assert c.get("/", follow_redirects=False).status_code == 200
    # Scripts send the token as a header.
    out = c.post("/logout", headers={"X-CSRF-Token": csrf_of(home.text)}, follow_redirects=False)
    assert out.status_code == 303


def test_a_token_from_another_session_is_refused(client: Client) -> None:
    victim = client(web_token=TOKEN)
    with TestClient(victim.app, base_url="http://127.0.0.1") as attacker:
        token = csrf_of(attacker.get("/login").text)
    log_in(victim)
    assert victim.post("/logout", data={"csrf_token": token}).status_code == 403


def test_a_multipart_form_carries_its_token_too(client: Client) -> None:
    c = client()
    token = csrf_of(c.get("/").text)
    response = c.post("/logout", files={"csrf_token": (None, token)}, follow_redirects=False)
    assert response.status_code == 303


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "monitor.example.org"])
def test_no_listening_beyond_loopback_without_a_token(tmp_path: Path, host: str) -> None:
    with pytest.raises(MonitorError) as err:
        check_exposure(fast_settings(tmp_path, http_host=host))
    assert f"MONITOR_HTTP_HOST is {host}" in str(err.value)
    assert "MONITOR_WEB_TOKEN" in str(err.value)
    check_exposure(fast_settings(tmp_path, http_host=host, web_token=TOKEN))


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_needs_no_token(tmp_path: Path, host: str) -> None:
    check_exposure(fast_settings(tmp_path, http_host=host))


def test_a_short_token_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MonitorError, match="MONITOR_WEB_TOKEN: too short"):
        check_exposure(fast_settings(tmp_path, web_token="secret"))
