"""Ops in the browser: log in, see every source's health, watch a source fail, log out."""

from __future__ import annotations

from typing import Any

import httpx

from tests.browser.conftest import HOSTILE_TITLE, Running, log_in, shoot


def row_status(page: Any, source_id: str) -> str:
    return str(page.get_attribute(f"#source-{source_id}", "data-status"))


def test_pages_need_a_login_and_the_overview_lists_every_source(
    page: Any, running: Running
) -> None:
    page.goto(f"{running.url}/")
    assert page.url.startswith(f"{running.url}/login")
    shoot(page, running, "login")
    page.fill("input[name=token]", "wrong")
    page.click("button[type=submit]")
    assert page.is_visible("#login-error")

    log_in(page, running)

    def polled() -> bool:
        page.reload()
        return all(row_status(page, s) == "ok" for s in ("state", "yonhap", "hostile"))

    running.wait_for(polled, 30, "all three sources to be polled")
    assert page.inner_text("#source-state .status").strip().startswith("ok")
    shoot(page, running, "overview")


def test_a_source_whose_server_stops_shows_as_failing_with_its_error(
    page: Any, running: Running
) -> None:
    log_in(page, running)
    running.wait_for(lambda: running.api("/api/sources") != [], 30, "the sources")
    running.flaky.stop()

    def failing() -> bool:
        page.reload()
        return row_status(page, "yonhap") == "failing"

    running.wait_for(failing, 45, "yonhap to show as failing")
    assert page.get_attribute("#source-yonhap", "class") is not None
    assert "status-failing" in str(page.get_attribute("#source-yonhap", "class"))
    assert page.inner_text("#source-yonhap .error-text").strip() != ""
    assert row_status(page, "state") == "ok"
    shoot(page, running, "overview-failing")

    page.click("#source-yonhap a")
    assert page.url.endswith("/sources/yonhap")
    assert "error" in page.inner_text("body").lower()
    shoot(page, running, "source-failing")

    health = httpx.get(f"{running.url}/healthz", timeout=5)
    assert health.status_code == 200
    assert health.json()["status"] == "degraded"
    assert "yonhap" in health.text


def test_a_hostile_title_shows_as_text_and_runs_nothing(page: Any, running: Running) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, running)

    def listed() -> bool:
        page.goto(f"{running.url}/sources/hostile")
        return HOSTILE_TITLE in page.inner_text("body")

    running.wait_for(listed, 30, "the hostile document on its source page")
    assert page.locator("img[src=x]").count() == 0
    assert dialogs == []


def test_log_out_ends_the_session(page: Any, running: Running) -> None:
    log_in(page, running)
    page.click("#logout")
    page.goto(f"{running.url}/")
    assert page.url.startswith(f"{running.url}/login")
