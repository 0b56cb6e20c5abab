"""The documents page (search in the rules' query language, filters, pages) and one
document's page (fields, sightings, versions, word diff)."""

from __future__ import annotations

import re
from datetime import timedelta

from monitor.store import Store
from tests.web.conftest import Client
from tests.web.data import NOW, doc, record

FIRST = (
    "Special Representative Stephen Biegun met Lee Do-hoon in Seoul.\n\nThey discussed sanctions."
)
SECOND = FIRST.replace("Lee Do-hoon", "Foreign Minister Kang")


def _titles(html: str) -> list[str]:
    return re.findall(r'class="document-title">([^<]*)</a>', html)


def _fill(store: Store) -> None:
    record(
        store,
        "state",
        [
            doc("a", "Biegun in Seoul", FIRST, published_at=NOW - timedelta(days=1)),
            doc(
                "b", "Trade talks", "Tariffs were discussed.", published_at=NOW - timedelta(days=5)
            ),
        ],
    )
    record(
        store,
        "treasury",
        [
            doc(
                "c",
                "Treasury sanctions",
                "Treasury will impose sanctions on two vessels.",
                source_id="treasury",
                kind="Press Release",
                published_at=NOW - timedelta(days=2),
            )
        ],
    )


def test_lists_newest_first_and_filters_by_source_kind_and_date(
    client: Client, web_store: Store
) -> None:
    _fill(web_store)
    c = client()
    assert _titles(c.get("/documents").text) == [
        "Biegun in Seoul",
        "Treasury sanctions",
        "Trade talks",
    ]
    assert _titles(c.get("/documents?source=treasury").text) == ["Treasury sanctions"]
    assert _titles(c.get("/documents?kind=Media+Note").text) == ["Biegun in Seoul", "Trade talks"]
    assert _titles(c.get("/documents?since=2026-11-29").text) == [
        "Biegun in Seoul",
        "Treasury sanctions",
    ]
    assert _titles(c.get("/documents?until=2026-11-29").text) == [
        "Treasury sanctions",
        "Trade talks",
    ]
    api = c.get("/api/documents?source=state").json()
    assert api["total"] == 2 and [d["id"] for d in api["documents"]] == ["a", "b"]


def test_search_uses_the_query_language_and_highlights_the_sentence(
    client: Client, web_store: Store
) -> None:
    _fill(web_store)
    c = client()
    html = c.get("/documents", params={"q": "sanction* AND (Biegun OR vessel*)"}).text
    assert _titles(html) == ["Biegun in Seoul", "Treasury sanctions"]
    assert "impose <mark>sanctions</mark> on two <mark>vessels</mark>" in html
    assert _titles(c.get("/documents", params={"q": '"Lee Do-hoon"'}).text) == ["Biegun in Seoul"]
    # rules.yaml's term lists are not needed for plain words, and filters still apply.
    assert _titles(c.get("/documents", params={"q": "sanction*", "source": "treasury"}).text) == [
        "Treasury sanctions"
    ]
    api = c.get("/api/documents", params={"q": "tariff*"}).json()
    assert api["total"] == 1 and api["complete"] is True and api["searched"] == 3
    [found] = api["documents"]
    assert found["match"]["snippet"] == "Tariffs were discussed."
    assert found["match"]["highlights"] == [[0, 7]]


def test_a_query_error_shows_the_caret(client: Client) -> None:
    c = client()
    page = c.get("/documents", params={"q": "sanction* AND (Biegun"})
    assert page.status_code == 400
    assert 'id="query-error"' in page.text and "^" in page.text
    api = c.get("/api/documents", params={"q": "sanction* AND (Biegun"})
    assert api.status_code == 400 and "^" in api.json()["error"]


def test_search_results_come_in_pages(client: Client, web_store: Store) -> None:
    docs = [
        doc(f"d{i:02d}", f"Release {i:02d}", "Biegun spoke.", published_at=NOW - timedelta(hours=i))
        for i in range(55)
    ]
    record(web_store, "state", docs)
    c = client()
    first = c.get("/documents", params={"q": "Biegun"}).text
    assert len(_titles(first)) == 50 and _titles(first)[0] == "Release 00"
    assert "55 documents" in first
    second = c.get("/documents", params={"q": "Biegun", "page": "2"}).text
    assert _titles(second) == [f"Release {i}" for i in range(50, 55)]
    assert len(_titles(c.get("/documents?page=2").text)) == 5


def test_a_document_shows_its_fields_sightings_and_versions(
    client: Client, web_store: Store
) -> None:
    record(web_store, "state", [doc("a", "Biegun in Seoul", FIRST)])
    record(web_store, "state", [doc("a", "Biegun in Seoul", SECOND)], now=NOW + timedelta(hours=1))
    record(web_store, "mirror", [doc("a", "Biegun in Seoul", SECOND)], now=NOW + timedelta(hours=2))
    c = client()
    page = c.get("/documents/a")
    assert page.status_code == 200
    html = page.text
    assert 'id="versions"' in html and html.count('<tr class="version">') == 2
    assert html.count('<tr class="sighting">') == 2 and "mirror" in html
    # Previous vs latest by default: the changed words, marked.
    assert "<del>Lee Do-hoon </del><ins>Foreign Minister Kang </ins>in Seoul." in html
    assert "2 words added" not in html and "3 words added, 2 removed" in html
    # The matched rule's sentence, highlighted.
    assert "<mark>Special Representative</mark>" in html
    api = c.get("/api/documents/a").json()
    assert api["version"] == 2 and [v["version"] for v in api["versions"]] == [1, 2]
    assert {"op": "insert", "text": "Foreign Minister Kang "} in api["diff"]["body"]
    assert (api["diff"]["a"], api["diff"]["b"], api["diff"]["inserted"]) == (1, 2, 3)
    assert [s["source_id"] for s in api["sightings"]] == ["state", "mirror"]


def test_any_two_versions_and_only_the_changes(client: Client, web_store: Store) -> None:
    long_tail = " ".join(f"filler{i}" for i in range(60))
    texts = [
        f"{FIRST} {long_tail}",
        f"{SECOND} {long_tail}",
        f"{SECOND} {long_tail} Added at the end.",
    ]
    for i, text in enumerate(texts):
        record(
            web_store, "state", [doc("a", "Biegun in Seoul", text)], now=NOW + timedelta(hours=i)
        )
    c = client()
    latest = c.get("/documents/a").text  # 2 → 3
    assert "<ins>Added at the end.</ins>" in latest and "<del>" not in latest.split('id="diff"')[1]
    first_to_last = c.get("/documents/a?a=1&b=3").text
    assert (
        "<del>Lee Do-hoon </del>" in first_to_last
        and "<ins>Added at the end.</ins>" in first_to_last
    )
    changes = c.get("/documents/a?a=1&b=3&view=changes").text
    assert 'id="diff-hunks"' in changes and changes.count('class="hunk diff"') == 2
    assert "filler30" not in changes.split('id="diff-hunks"')[1].split("</ol>")[0]
    assert c.get("/documents/a?a=9").status_code == 404
    assert c.get("/documents/nope").status_code == 404
    assert c.get("/api/documents/nope").json() == {"error": "No document with id 'nope'"}


def test_a_document_with_one_version_shows_its_text(client: Client, web_store: Store) -> None:
    record(web_store, "state", [doc("a", "Biegun in Seoul", FIRST)])
    html = client().get("/documents/a").text
    assert 'id="body"' in html and "Lee Do-hoon" in html and 'id="diff"' not in html


def test_a_changed_summary_gets_its_own_word_diff(client: Client, web_store: Store) -> None:
    record(
        web_store,
        "state",
        [doc("a", "T", FIRST, summary="Talks in Geneva next week.", content_hash="1")],
    )
    record(
        web_store,
        "state",
        [doc("a", "T", FIRST, summary="Talks in Vienna next week.", content_hash="2")],
        now=NOW + timedelta(hours=1),
    )
    html = client().get("/documents/a").text
    summary = html.split('id="summary-diff"')[1].split("</p>")[0]
    assert "<del>Geneva </del><ins>Vienna </ins>next week." in summary
    assert 'id="fields-changed"' not in html
