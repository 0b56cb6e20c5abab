"""The page behind an alert's feedback links: GET asks, POST records, each link works once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from monitor.alerts.base import idempotency_key
from monitor.alerts.feedback import Vote, feedback_links, make_token, read_token, signing_key
from monitor.settings import Settings
from monitor.store import Store
from monitor.store.outbox import NewAlert
from monitor.web.feedback import feedback_routes
from tests.conftest import fast_settings

SECRET = "a-feedback-secret-of-32-characters"
PUBLIC = "https://monitor.example.org"
HOSTILE = '<script>alert("x")</script> Treasury & "friends"'


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return fast_settings(tmp_path, public_url=PUBLIC, feedback_secret=SECRET)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    opened = Store.open(settings.database_url)
    yield opened
    opened.close()


def queue_alert(store: Store, title: str = HOSTILE) -> dict[str, object]:
    """One alert in the outbox (as a match would queue it); its payload."""
    key = idempotency_key("sanctions-change", "d" * 24, 1, "policy-email")
    payload = {
        "type": "monitor.alert",
        "schema": 1,
        "id": key,
        "rule": {"id": "sanctions-change", "name": "Sanctions <changes>", "query": "-"},
        "document": {
            "id": "d" * 24,
            "source_id": "treasury",
            "url": "https://t.gov/1",
            "title": title,
            "kind": "Press Release",
            "published_at": None,
            "authors": [],
            "version": 1,
        },
        "matches": [{"field": "body", "terms": [], "snippet": "x", "highlights": []}],
        "update": False,
    }
    store.enqueue(
        [NewAlert(key, "policy-email", "sanctions-change", "d" * 24, 1, payload)],
        datetime.now(UTC),
    )
    return payload


@pytest.fixture
def client(store: Store, settings: Settings) -> Iterator[TestClient]:
    app = Starlette(routes=feedback_routes(store, settings, clock=Clock()))
    with TestClient(app) as test_client:
        yield test_client


def paths(settings: Settings, payload: dict[str, object]) -> dict[str, str]:
    links = feedback_links(settings, payload, "email")
    assert links is not None
    return {verdict: url.removeprefix(PUBLIC) for verdict, url in links.items()}


def test_get_shows_a_button_and_records_nothing(
    client: TestClient, store: Store, settings: Settings
) -> None:
    link = paths(settings, queue_alert(store))["useful"]
    for _ in range(3):  # a mail scanner, then the reader, then a reload
        page = client.get(link)
        assert page.status_code == 200
        assert '<form method="post">' in page.text and "Yes, it was useful" in page.text
    assert client.head(link).status_code == 200
    assert store.feedback.labels() == {}
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in page.headers["content-security-policy"]


def test_post_records_the_vote_once(client: TestClient, store: Store, settings: Settings) -> None:
    payload = queue_alert(store)
    link = paths(settings, payload)["useful"]
    done = client.post(link)
    assert done.status_code == 200 and "Thank you" in done.text and "was useful" in done.text
    assert store.feedback.labels() == {("sanctions-change", "d" * 24): True}
    row = store.feedback.verdict(str(payload["id"]))
    assert row is not None and (row.verdict, row.via) == ("useful", "email")
    again = client.post(link)
    assert again.status_code == 410 and "has been used already" in again.text
    assert client.get(link).status_code == 410  # the page says so before the button, too
    assert "recorded “useful”" in client.get(link).text
    assert "The other link in the alert can still change the answer." in again.text


def test_the_other_link_replaces_the_vote_once(
    client: TestClient, store: Store, settings: Settings
) -> None:
    payload = queue_alert(store)
    links = paths(settings, payload)
    client.post(links["useful"])
    confirm = client.get(links["not_useful"])
    assert "It is marked “useful” now; this replaces that." in confirm.text
    changed = client.post(links["not_useful"])
    assert changed.status_code == 200 and "replaces the earlier answer" in changed.text
    assert store.feedback.labels() == {("sanctions-change", "d" * 24): False}
    assert "can still change it" not in changed.text  # both links are spent now
    spent = client.post(links["useful"])  # no flip-flopping by link
    assert spent.status_code == 410 and "monitor alerts feedback" in spent.text
    assert store.feedback.labels() == {("sanctions-change", "d" * 24): False}


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(
            lambda p: p[:-3] + ("abc" if not p.endswith("abc") else "xyz"), id="signature"
        ),
        pytest.param(lambda p: p.replace("/feedback/W", "/feedback/X"), id="body"),
        pytest.param(lambda p: p.split(".")[0], id="cut-short"),
    ],
)
def test_a_tampered_link_is_refused_and_records_nothing(
    client: TestClient, store: Store, settings: Settings, path: object
) -> None:
    link = paths(settings, queue_alert(store))["useful"]
    bad = path(link)  # type: ignore[operator]
    for response in (client.get(bad), client.post(bad)):
        assert response.status_code == 400 and "This link is not valid" in response.text
    assert store.feedback.labels() == {}


def test_a_link_signed_with_another_secret_is_refused(
    client: TestClient, store: Store, tmp_path: Path
) -> None:
    other = fast_settings(tmp_path, public_url=PUBLIC, feedback_secret="x" * 20)
    link = paths(other, queue_alert(store))["useful"]
    assert client.post(link).status_code == 400
    assert store.feedback.labels() == {}


def test_hostile_titles_are_escaped(client: TestClient, store: Store, settings: Settings) -> None:
    link = paths(settings, queue_alert(store))["useful"]
    for page in (client.get(link), client.post(link)):
        assert "<script>" not in page.text
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Treasury &amp;" in page.text
        assert "Sanctions &lt;changes&gt;" in page.text


def test_a_vote_counts_after_the_alert_was_pruned(
    client: TestClient, store: Store, settings: Settings
) -> None:
    key = signing_key(settings)
    assert key is not None
    token = make_token(key, Vote("f" * 40, "biegun", "e" * 24, "not_useful", "webhook"))
    page = client.get(f"/feedback/{token}")
    assert page.status_code == 200 and "<code>biegun</code>" in page.text
    assert client.post(f"/feedback/{token}").status_code == 200
    assert store.feedback.labels() == {("biegun", "e" * 24): False}


def test_without_a_secret_the_page_says_links_are_off(store: Store, tmp_path: Path) -> None:
    settings = fast_settings(tmp_path, public_url=PUBLIC)
    app = Starlette(routes=feedback_routes(lambda: store, settings))
    with TestClient(app) as client:
        response = client.post("/feedback/abc.def")
    assert response.status_code == 404 and "Feedback links are off" in response.text
    assert store.feedback.labels() == {}


# -- inside the real app: open without login, the form carries the session's CSRF token --


def test_in_the_app_a_link_works_without_logging_in(tmp_path: Path, store: Store) -> None:
    from monitor.web import create_app
    from tests.web.conftest import TOKEN, csrf_of

    settings = fast_settings(tmp_path, public_url=PUBLIC, feedback_secret=SECRET, web_token=TOKEN)
    link = paths(settings, queue_alert(store))["not_useful"]
    with TestClient(create_app(settings, store), base_url="http://127.0.0.1") as app:
        assert app.get("/alerts", follow_redirects=False).status_code == 303  # login first
        page = app.get(link)
        assert page.status_code == 200 and "Yes, it was not useful" in page.text
        assert app.post(link).status_code == 403  # no CSRF token: csrf.py refuses it
        assert store.feedback.labels() == {}
        done = app.post(link, data={"csrf_token": csrf_of(page.text)})
        assert done.status_code == 200 and "Thank you" in done.text
    assert store.feedback.labels() == {("sanctions-change", "d" * 24): False}


def test_in_the_app_a_feedback_page_sends_one_policy_of_each_kind(
    tmp_path: Path, store: Store
) -> None:
    # Two Content-Security-Policy headers are both enforced: the app's (no inline style)
    # blocked the page's <style>. The page's own policy and no-referrer must be the only ones.
    from monitor.web import create_app
    from tests.web.conftest import TOKEN

    settings = fast_settings(tmp_path, public_url=PUBLIC, feedback_secret=SECRET, web_token=TOKEN)
    link = paths(settings, queue_alert(store))["useful"]
    with TestClient(create_app(settings, store), base_url="http://127.0.0.1") as app:
        for page in (app.get(link), app.get("/feedback/not-a-token")):
            assert page.status_code in (200, 400, 404), page.status_code
            assert "<style>" in page.text
            [policy] = page.headers.get_list("content-security-policy")
            assert "style-src 'self' 'unsafe-inline'" in policy
            assert "frame-ancestors 'none'" in policy
            assert page.headers.get_list("referrer-policy") == ["no-referrer"]
            assert page.headers.get_list("cache-control") == ["no-store"]
            assert page.headers["x-content-type-options"] == "nosniff"  # the app's, kept
        other = app.get("/login")
        assert other.headers.get_list("referrer-policy") == ["same-origin"]
        assert len(other.headers.get_list("content-security-policy")) == 1


def test_the_alerts_page_links_both_answers_and_shows_the_vote(
    tmp_path: Path, store: Store
) -> None:
    from monitor.web import create_app
    from tests.web.conftest import csrf_of

    settings = fast_settings(tmp_path, feedback_secret=SECRET)  # no public URL needed here
    queue_alert(store)
    with TestClient(create_app(settings, store), base_url="http://127.0.0.1") as app:
        page = app.get("/alerts")
        found = re.search(
            r'Useful\? <a href="(/feedback/[^"]+)">Yes</a> · <a href="(/feedback/[^"]+)">No</a>',
            page.text,
        )
        assert found, page.text
        key = signing_key(settings)
        assert key is not None
        vote = read_token(key, found.group(2).removeprefix("/feedback/"))
        assert vote is not None and (vote.verdict, vote.via) == ("not_useful", "web")
        confirm = app.get(found.group(2))
        app.post(found.group(2), data={"csrf_token": csrf_of(confirm.text)})
        assert "(marked not useful)" in app.get("/alerts").text
    without = fast_settings(tmp_path)
    with TestClient(create_app(without, store), base_url="http://127.0.0.1") as app:
        assert "Useful?" not in app.get("/alerts").text
