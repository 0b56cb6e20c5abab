"""Policy staff in the browser: an alert and its sentence, what changed in a document,
trying a rule (and a typo in it), on a desktop and a phone, with and without JavaScript."""

from __future__ import annotations

from typing import Any

from monitor.fixture_server import Route
from tests.browser.conftest import TOKEN, Running, changing_feed, log_in, shoot


def test_an_alert_shows_its_sentence_with_the_terms_highlighted(
    page: Any, running: Running
) -> None:
    log_in(page, running)

    def alerted() -> bool:
        page.goto(f"{running.url}/alerts?rule=biegun")
        return page.locator("#alerts li.alert").count() >= 2

    running.wait_for(alerted, 30, "the Biegun alerts on the alerts page")
    first = page.locator("#alerts li.alert").first
    marked = [m.lower() for m in first.locator("blockquote.snippet mark").all_inner_texts()]
    assert "biegun" in marked
    assert "biegun" in first.locator("blockquote.snippet").inner_text().lower()
    shoot(page, running, "alerts")


def test_a_document_with_two_versions_shows_the_changed_words(page: Any, running: Running) -> None:
    log_in(page, running)
    running.wait_for(
        lambda: any(
            d["source_id"] == "changing"
            for d in running.api("/api/documents?source=changing")["documents"]
        ),
        30,
        "the first version of the changing release",
    )
    running.feeds.routes["/changing"] = Route(
        body=changing_feed("The talks will resume in Vienna next month."),
        content_type="application/rss+xml",
    )

    def two_versions() -> bool:
        found = running.api("/api/documents?source=changing")["documents"]
        return bool(found) and found[0]["version"] >= 2

    running.wait_for(two_versions, 40, "the second version of the changing release")
    doc_id = running.api("/api/documents?source=changing")["documents"][0]["id"]
    page.goto(f"{running.url}/documents/{doc_id}")
    inserted = " ".join(page.locator("#diff ins").all_inner_texts())
    deleted = " ".join(page.locator("#diff del").all_inner_texts())
    assert "Vienna" in inserted and "month" in inserted
    assert "Geneva" in deleted and "week" in deleted
    assert "envoy spoke" not in inserted + deleted  # unchanged words are not marked
    shoot(page, running, "document-diff")

    page.check("#only-changes")
    page.locator("#diff-form button[type=submit]").click()
    hunks = page.locator("#diff-hunks li").all_inner_texts()
    assert len(hunks) == 1 and "Vienna" in hunks[0]
    assert "envoy spoke" not in hunks[0] and "close touch" not in hunks[0]  # context is short


def test_try_a_rule_shows_matches_and_the_caret_for_a_typo(page: Any, running: Running) -> None:
    log_in(page, running)
    running.wait_for(
        lambda: running.api("/api/rules/try?q=biegun")["matches"] != [], 30, "stored documents"
    )
    page.goto(f"{running.url}/try")
    page.fill("#try-q", "biegun AND working")
    page.click("#try-run")
    matches = page.locator("#try-matches > li")
    assert matches.count() >= 1
    assert "biegun" in [m.lower() for m in page.locator("#try-matches mark").all_inner_texts()]
    assert "biegun AND working" in page.inner_text("#try-yaml")
    shoot(page, running, "try")

    page.fill("#try-q", "biegun AND (working")
    page.click("#try-run")
    error = page.inner_text("#try-error")
    assert "^" in error
    assert page.locator("#try-matches").count() == 0
    shoot(page, running, "try-error")


def test_pages_fit_a_phone_and_read_without_javascript(browser: Any, running: Running) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, java_script_enabled=False, is_mobile=True
    )
    try:
        page = context.new_page()
        page.goto(f"{running.url}/login")
        page.fill("input[name=token]", TOKEN)
        page.click("button[type=submit]")
        for path in ("/", "/alerts", "/documents", "/try"):
            page.goto(f"{running.url}{path}")
            assert page.locator("main, body").first.inner_text().strip() != ""
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 1, f"{path} is {overflow} px wider than a phone screen"
        page.goto(f"{running.url}/")
        shoot(page, running, "overview-phone")
    finally:
        context.close()
