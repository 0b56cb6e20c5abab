""" "Try a rule": a query over the stored documents, an existing rule with edits (newly /
no longer matched), a pasted text or a fetched page, the caret on a typo; writes nothing."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from starlette.testclient import TestClient

from monitor.fixture_server import FixtureServer, RewriteTransport, Route
from monitor.store import Store
from tests.web.conftest import Client, csrf_of
from tests.web.data import NOW, RULES_YAML, doc, record


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "config"
    directory.mkdir()
    (directory / "rules.yaml").write_text(RULES_YAML, encoding="utf-8")
    return directory


@pytest.fixture
def page_client(client: Client, web_store: Store, config_dir: Path) -> TestClient:
    record(
        web_store,
        "state",
        [
            doc("a", "Biegun in Seoul", "Special Representative Biegun met Lee Do-hoon."),
            doc(
                "b",
                "Envoy travels",
                "The Special Representative will travel to Tokyo.",
                published_at=NOW - timedelta(days=10),
            ),
            doc("c", "Trade", "Tariffs were discussed.", kind="Readout"),
        ],
    )
    record(
        web_store,
        "treasury",
        [
            doc(
                "d",
                "Treasury",
                "Treasury met Biegun about sanctions.",
                source_id="treasury",
                kind="Press Release",
                published_at=NOW - timedelta(days=2),
            )
        ],
    )
    return client(config_dir=config_dir)


def _matched_titles(html: str) -> list[str]:
    block = html.split('id="try-matches"')[1].split("</ol>")[0]
    return re.findall(r'class="document-title">([^<]*)</a>', block)


def test_a_query_shows_matches_highlighted_and_counted(page_client: TestClient) -> None:
    page = page_client.get("/try", params={"q": "Biegun"})
    assert page.status_code == 200
    html = page.text
    assert _matched_titles(html) == ["Biegun in Seoul", "Treasury"]
    assert "Special Representative <mark>Biegun</mark> met" in html
    assert re.search(r'id="try-count">2 of 4 stored documents', html)
    source_table = html.split('id="by-source"')[1].split("</table>")[0]
    assert '<th scope="row">state</th><td class="num">1</td>' in source_table
    assert "Press Release" in html.split('id="by-kind"')[1].split("</table>")[0]
    assert "2026-11-30" in html.split('id="by-week"')[1].split("</table>")[0]  # the Monday
    api = page_client.get("/api/rules/try", params={"q": "Biegun"}).json()
    assert api["total"] == 2 and api["complete"] is True and api["searched"] == 4
    assert api["by_source"] == {"state": 1, "treasury": 1}
    assert api["matches"][0]["snippet"] == "Special Representative Biegun met Lee Do-hoon."
    assert api["matches"][0]["highlights"] == [[23, 29]]


def test_starting_from_a_rule_compares_the_edit_with_the_rule(page_client: TestClient) -> None:
    # The rule as it stands (its @envoys list): Biegun OR "Special Representative".
    as_is = page_client.get("/try", params={"rule": "biegun"}).text
    assert "@envoys" in as_is and _matched_titles(as_is) == [
        "Biegun in Seoul",
        "Treasury",
        "Envoy travels",
    ]
    assert 'id="try-compare"' not in as_is  # nothing edited: nothing to compare
    edited = page_client.get("/try", params={"rule": "biegun", "q": "Biegun OR Tariff*"}).text
    newly = edited.split('id="newly-matched"')[1].split("</ul>")[0]
    stopped = edited.split('id="stopped-matching"')[1].split("</ul>")[0]
    assert "Trade" in newly and "Envoy" not in newly
    assert "Envoy travels" in stopped and "Trade" not in stopped
    api = page_client.get("/api/rules/try", params={"rule": "biegun", "q": "Biegun OR Tariff*"})
    body = api.json()
    assert [d["id"] for d in body["newly_matched"]] == ["c"]
    assert [d["id"] for d in body["no_longer_matched"]] == ["b"]
    # The YAML keeps the rule's id, name and channels, with the edited query.
    entry = yaml.safe_load(body["yaml"])[0]
    assert entry == {
        "id": "biegun",
        "name": "Biegun mentioned",
        "query": "Biegun OR Tariff*",
        "notify": ["desk"],
    }
    assert page_client.get("/try?rule=nope").status_code == 404


def test_a_syntax_error_shows_the_caret(page_client: TestClient) -> None:
    page = page_client.get("/try", params={"q": "Biegun AND (sanction*"})
    assert page.status_code == 400
    error = page.text.split('id="try-error"')[1].split("</pre>")[0]
    assert "column" in error and "Biegun AND (sanction*\n" in error and "^" in error
    api = page_client.get("/api/rules/try", params={"q": "Biegun AND (sanction*"})
    assert api.status_code == 400
    assert api.json()["error"].endswith("^") and api.json()["column"]
    assert page_client.get("/api/rules/try", params={"q": "@envoyz"}).status_code == 400
    assert page_client.get("/api/rules/try").status_code == 400


def test_a_pasted_text_is_tested_with_the_csrf_token(page_client: TestClient) -> None:
    form = page_client.get("/try", params={"q": "sanction* NEAR/3 lift*"}).text
    data = {
        "q": "sanction* NEAR/3 lift*",
        "text": "A title\nThe council voted to lift sanctions on Monday.",
    }
    assert page_client.post("/try", data=data).status_code == 403
    page = page_client.post("/try", data={**data, "csrf_token": csrf_of(form)})
    assert page.status_code == 200
    assert "to <mark>lift</mark> <mark>sanctions</mark> on" in page.text
    assert 'class="tested matched"' in page.text
    miss = page_client.post(
        "/try", data={**data, "text": "Nothing here", "csrf_token": csrf_of(form)}
    )
    assert 'class="tested not-matched"' in miss.text


def test_a_page_is_fetched_through_the_fetcher(
    page_client: TestClient, server: FixtureServer
) -> None:
    html = (
        b"<html><head><title>Release</title></head><body><article><h1>Envoy named</h1>"
        b"<p>The President named Stephen Biegun envoy. He will travel next week to Seoul and "
        b"Tokyo for talks with partners about the region and its security.</p></article>"
        b"</body></html>"
    )
    server.routes["/www.example.org/release"] = Route(body=html)
    token = csrf_of(page_client.get("/try").text)
    # A loopback or private address is refused: the address is the visitor's choice.
    refused = page_client.post(
        "/try", data={"q": "Biegun", "url": server.url("/x"), "csrf_token": token}
    )
    assert refused.status_code == 400
    assert "private" in refused.text or "loopback" in refused.text
    # There is no source on this page: the hint says what to do here instead.
    assert "allow_private: true on the source" not in refused.text
    assert "this page fetches public addresses only: paste the page&#39;s text" in refused.text
    page_client.app.state.fetch_transport = RewriteTransport(server.url(""))  # type: ignore[attr-defined]
    page = page_client.post(
        "/try",
        data={"q": "Biegun", "url": "https://www.example.org/release", "csrf_token": token},
    )
    assert page.status_code == 200, page.text
    assert "Stephen <mark>Biegun</mark> envoy" in page.text


def test_the_search_stops_at_its_budget_and_says_how_far_it_got(
    page_client: TestClient,
) -> None:
    page_client.app.state.search_budget = 0.0  # type: ignore[attr-defined]
    html = page_client.get("/try", params={"q": "Biegun"}).text
    assert 'id="try-partial"' in html and "Searched 0 of 4 documents" in html
    api = page_client.get("/api/rules/try", params={"q": "Biegun"}).json()
    assert api["complete"] is False and api["searched"] == 0 and api["stored"] == 4


def test_trying_writes_nothing(page_client: TestClient, web_store: Store, config_dir: Path) -> None:
    before = (config_dir / "rules.yaml").read_text(encoding="utf-8")
    alerts = page_client.get("/api/alerts").json()["total"]
    page_client.get("/try", params={"rule": "biegun", "q": "Tariff*"})
    assert (config_dir / "rules.yaml").read_text(encoding="utf-8") == before
    assert page_client.get("/api/alerts").json()["total"] == alerts
    assert web_store.count_documents() == 4
