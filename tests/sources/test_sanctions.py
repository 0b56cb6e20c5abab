"""`type: sanctions-list`: two generations of a list become the right Documents.

The SDN fixtures (fixtures/sanctions/sdn-1.xml → sdn-2.xml): gen 2 adds CHON, Myong Gil
(7111) and YUSONG SHIPPING COMPANY (7112), removes KOREA SOBAEKSU TRADING COMPANY (7110),
gives RI, Song Hyok (7103) a new alias and PAEKSOL SHIPPING CO LTD (7104) a new program.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.errors import ConfigError, ParseError
from monitor.fixture_server import FixtureServer, Route, production_path
from monitor.models import PollResult
from monitor.rules import RuleSet
from monitor.settings import Settings
from monitor.sources import build
from monitor.sources.sanctions import SanctionsOptions, SanctionsSource
from monitor.sources.sanctions.entries import ListHeader
from monitor.sources.sanctions.ofac import SdnFormat
from monitor.sources.sanctions.un import UnFormat
from monitor.store import Store
from tests.conftest import CONFIG, FIXTURES, poll

SDN_URL = "https://www.treasury.gov/ofac/downloads/sdn.xml"
PATH = production_path(SDN_URL)
GEN1 = (FIXTURES / "sanctions/sdn-1.xml").read_bytes()
GEN2 = (FIXTURES / "sanctions/sdn-2.xml").read_bytes()


def sdn_source(**extra: object) -> SanctionsOptions:
    return SanctionsOptions(id="ofac-sdn", url=SDN_URL, **extra)  # type: ignore[arg-type]


def serve(server: FixtureServer, body: bytes) -> None:
    server.routes[PATH] = Route(body=body, content_type="text/xml")


def poll_list(
    server: FixtureServer,
    store: Store,
    settings: Settings,
    body: bytes,
    rules: RuleSet | None = None,
) -> PollResult:
    serve(server, body)
    [result] = poll([sdn_source()], store, settings, rewrite_to=server, rules=rules)
    return result


def changes(result: PollResult) -> dict[str, tuple[str | None, str]]:
    """title → (kind, body) of the poll's new documents."""
    return {
        c.document.title: (c.document.kind, c.document.body)
        for c in result.changes
        if c.change == "new"
    }


# -- parsing ---------------------------------------------------------------------------


def test_sdn_entries_read_with_their_programs_aliases_ids_and_vessel_info() -> None:
    header = ListHeader()
    entries = {e.uid: e for e in SdnFormat().entries(GEN1, header)}
    assert len(entries) == 10 and header.errors == []
    assert header.published == datetime(2018, 2, 22, tzinfo=UTC)
    assert header.record_count == 10
    kim = entries["7102"]
    assert (kim.name, kim.type, kim.programs) == ("KIM, Chol Min", "Individual", ("DPRK3",))
    assert kim.detail("Title") == ("Deputy Director, Foreign Trade Bureau",)
    assert kim.detail("IDs") == ("Passport 563410081 (Korea, North)", "Gender Male")
    assert kim.detail("Date of birth") == ("15 Mar 1968",)
    assert kim.detail("Place of birth") == ("Hamhung, North Korea",)
    assert entries["7103"].detail("Aliases") == ("a.k.a. RI, Song-hyok",)
    assert entries["7107"].detail("Aliases") == ("a.k.a. AL-HASAN, Yousef (weak)",)
    assert entries["7110"].programs == ("DPRK", "DPRK3")
    vessel = entries["7105"]
    assert vessel.type == "Vessel"
    assert "Call sign: HMZF" in vessel.detail("Vessel")
    assert vessel.detail("Remarks") == ("Linked To: PAEKSOL SHIPPING CO LTD.",)
    assert entries["36"].detail("Addresses") == ("Havana, Cuba",)


def test_sdn_without_its_namespace_reads_the_same() -> None:
    bare = GEN1.replace(b' xmlns="http://tempuri.org/sdnList.xsd"', b"")
    assert bare != GEN1
    assert list(SdnFormat().entries(bare, ListHeader())) == list(
        SdnFormat().entries(GEN1, ListHeader())
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html><body>Service unavailable</body></html>", "expected <sdnList>"),
        (GEN2[: len(GEN2) // 2], "not a readable OFAC SDN list"),
        (b"", "not a readable OFAC SDN list"),
        (GEN2.replace(b"<Record_Count>11<", b"<Record_Count>12<"), "says it holds 12 entries"),
    ],
    ids=["html-page", "truncated", "empty", "record-count"],
)
def test_unreadable_list_is_a_clear_error(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        build(sdn_source()).parse(body, SDN_URL, "text/xml")


def test_entry_without_uid_is_an_item_error() -> None:
    body = GEN1.replace(b"<uid>36</uid>", b"").replace(b"<Record_Count>10<", b"<Record_Count>10<")
    source = build(sdn_source())
    assert isinstance(source, SanctionsSource)
    snapshot = source.read(body, SDN_URL, None, {})
    assert len(snapshot.fingerprints) == 9
    assert snapshot.errors and "no uid" in snapshot.errors[0]


def test_un_consolidated_list_reads_individuals_and_entities() -> None:
    header = ListHeader()
    body = (FIXTURES / "sanctions/un-consolidated.xml").read_bytes()
    entries = {e.uid: e for e in UnFormat().entries(body, header)}
    assert header.published == datetime(2018, 3, 30, 18, 3, 2, 587000, tzinfo=UTC)
    pak = entries["6908101"]
    assert (pak.name, pak.type, pak.programs) == ("PAK CHOL NAM", "Individual", ("DPRK",))
    assert pak.detail("Reference") == ("KPi.901",)
    assert pak.detail("Aliases") == ("Pak Chol-nam (good)",)
    assert pak.detail("IDs") == ("Passport 836220019",)
    assert pak.detail("Nationality") == ("Democratic People's Republic of Korea",)
    firm = entries["6908202"]
    assert (firm.name, firm.type) == ("HAEGUMGANG TRADING CORPORATION", "Entity")
    assert firm.detail("Addresses") == (
        "Pothonggang District, Pyongyang, Democratic People's Republic of Korea",
    )
    with pytest.raises(ParseError, match="expected <CONSOLIDATED_LIST>"):
        list(UnFormat().entries(GEN1, ListHeader()))


def test_format_option_is_checked_when_the_config_loads(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(
        "sources:\n"
        "  - id: un-list\n    type: sanctions-list\n    format: un-consolidated\n"
        "    url: https://scsanctions.un.org/resources/xml/en/consolidated.xml\n"
        "  - id: eu-list\n    type: sanctions-list\n    format: eu-fsf\n    url: https://e.org/\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    [message] = info.value.messages
    assert "eu-list" in message and "format" in message


# -- through the pipeline ----------------------------------------------------------------


def test_first_poll_is_a_baseline_without_documents(
    server: FixtureServer, store: Store, settings: Settings
) -> None:
    result = poll_list(server, store, settings, GEN1)
    assert result.status == "ok", result.error
    assert result.changes == [] and store.count_documents() == 0
    assert result.items == 10
    assert result.note is not None and "baseline: 10 entries recorded" in result.note
    assert len(store.snapshot("ofac-sdn")) == 10


def test_second_generation_becomes_designations_delisting_and_amendments(
    server: FixtureServer, store: Store, settings: Settings
) -> None:
    poll_list(server, store, settings, GEN1)
    result = poll_list(server, store, settings, GEN2)
    assert result.status == "ok", result.error
    assert result.note is None and result.item_errors == []
    found = changes(result)
    assert sorted(found) == [
        "Amendment: PAEKSOL SHIPPING CO LTD on SDN (programs changed), programs DPRK4, DPRK-NKSPEA",
        "Amendment: RI, Song Hyok on SDN (aliases changed), programs DPRK3",
        "Delisting: KOREA SOBAEKSU TRADING COMPANY removed from SDN, programs DPRK, DPRK3",
        "Designation: CHON, Myong Gil added to SDN, programs DPRK3",
        "Designation: YUSONG SHIPPING COMPANY added to SDN, programs DPRK4",
    ]
    assert len(result.changes) == 5
    kind, body = found["Designation: CHON, Myong Gil added to SDN, programs DPRK3"]
    assert kind == "Designation"
    for line in (
        "Type: Individual",
        "Programs: DPRK3 (North Korea)",
        "Title: Representative, Haegumgang Trading Corporation",
        "Addresses: Dandong, China",
        "IDs: Passport 745120334 (Korea, North)",
        "Date of birth: 04 Nov 1976",
    ):
        assert line in body.split("\n\n")
    kind, body = found["Amendment: RI, Song Hyok on SDN (aliases changed), programs DPRK3"]
    assert kind == "Amendment"
    assert "Aliases added: a.k.a. LI, Cheng He" in body.split("\n\n")
    assert "no longer listed" not in body
    kind, body = next(v for t, v in found.items() if t.startswith("Amendment: PAEKSOL"))
    assert "Programs added: DPRK-NKSPEA (North Korea)" in body.split("\n\n")
    kind, body = next(v for t, v in found.items() if t.startswith("Delisting"))
    assert kind == "Delisting"
    # Described as it was last listed: the removed entry is no longer in the list.
    assert "Aliases: a.k.a. SOBAEKSU TRADING" in body.split("\n\n")
    docs = {c.document.title.split(":")[0]: c.document for c in result.changes}
    chon = next(c.document for c in result.changes if "CHON" in c.document.title)
    assert chon.url == f"{SDN_URL}#7111"
    assert chon.published_at == datetime(2018, 2, 23, tzinfo=UTC)
    assert docs["Delisting"].url == f"{SDN_URL}#7110"
    # The snapshot is now gen 2: 7110 gone, the new ones in.
    snapshot = store.snapshot("ofac-sdn")
    assert len(snapshot) == 11 and "7110" not in snapshot and {"7111", "7112"} <= set(snapshot)
    # Polled again, the same list is not news (a 304, or the same snapshot).
    server.routes[PATH] = Route(body=GEN2 + b"\n", content_type="text/xml")
    [again] = poll([sdn_source()], store, settings, rewrite_to=server)
    assert again.status == "ok" and again.changes == []


def test_snapshot_survives_a_restart(server: FixtureServer, tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/m.db", host_delay=0.0)
    first = Store.open(settings.database_url)
    poll_list(server, first, settings, GEN1)
    first.close()
    second = Store.open(settings.database_url)
    result = poll_list(server, second, settings, GEN2)
    second.close()
    assert sorted(c.document.kind or "" for c in result.changes) == [
        "Amendment",
        "Amendment",
        "Delisting",
        "Designation",
        "Designation",
    ]


def test_malformed_list_fails_the_poll_and_loses_nothing(
    server: FixtureServer, store: Store, settings: Settings
) -> None:
    poll_list(server, store, settings, GEN1)
    before = store.snapshot("ofac-sdn")
    broken = poll_list(server, store, settings, GEN2[: len(GEN2) * 2 // 3])
    assert broken.status == "error"
    assert broken.error is not None and "not a readable OFAC SDN list" in broken.error
    assert store.snapshot("ofac-sdn") == before
    assert store.count_documents() == 0
    # The next good list still yields every change.
    result = poll_list(server, store, settings, GEN2)
    assert result.status == "ok" and len(changes(result)) == 5


def _synthetic(count: int) -> bytes:
    entries = "".join(
        f"<sdnEntry><uid>{n}</uid><lastName>ENTITY {n}</lastName><sdnType>Entity</sdnType>"
        "<programList><program>SDGT</program></programList></sdnEntry>"
        for n in range(1, count + 1)
    )
    return (
        '<sdnList xmlns="http://tempuri.org/sdnList.xsd"><publshInformation>'
        f"<Publish_Date>01/02/2019</Publish_Date><Record_Count>{count}</Record_Count>"
        f"</publshInformation>{entries}</sdnList>"
    ).encode()


def test_a_list_losing_most_entries_at_once_is_taken_for_a_wrong_file(
    server: FixtureServer, store: Store, settings: Settings
) -> None:
    poll_list(server, store, settings, _synthetic(40))
    result = poll_list(server, store, settings, _synthetic(12))
    assert result.status == "error"
    assert result.error is not None and "28 of 40 entries would be removed" in result.error
    assert len(store.snapshot("ofac-sdn")) == 40


def test_shipped_rules_alert_on_a_dprk_designation_not_on_its_delisting(
    server: FixtureServer, store: Store, settings: Settings
) -> None:
    rules = load_config(CONFIG).rules
    poll_list(server, store, settings, GEN1, rules=rules)
    result = poll_list(server, store, settings, GEN2, rules=rules)
    matched = {
        c.document.title.split(" added")[0].split(" removed")[0]: {m.rule_id for m in c.matches}
        for c in result.changes
    }
    both = {"sanctions-change", "ofac-designations"}
    assert both <= matched["Designation: CHON, Myong Gil"]
    assert both <= matched["Designation: YUSONG SHIPPING COMPANY"]
    delisting = matched["Delisting: KOREA SOBAEKSU TRADING COMPANY"]
    assert "sanctions-change" in delisting and "ofac-designations" not in delisting


def test_dry_run_of_a_new_list_stores_nothing(
    server: FixtureServer, store: Store, settings: Settings
) -> None:
    serve(server, GEN1)
    [result] = poll([sdn_source()], store, settings, rewrite_to=server, dry_run=True)
    assert result.status == "ok" and result.note and "baseline" in result.note
    assert store.snapshot("ofac-sdn") == {}


def test_markup_that_says_the_same_is_not_news(
    server: FixtureServer, store: Store, settings: Settings
) -> None:
    poll_list(server, store, settings, GEN1)
    # Re-indented, and the alias of AEROCARIBBEAN renumbered: same entries, other bytes.
    reformatted = GEN1.replace(b"\n    ", b"\n\t").replace(b"<uid>361</uid>", b"<uid>999</uid>")
    result = poll_list(server, store, settings, reformatted)
    assert result.status == "ok" and result.changes == []
    # The new markup is the snapshot now: the next real change is still found.
    result = poll_list(server, store, settings, GEN2)
    assert len(changes(result)) == 5


UN_URL = "https://scsanctions.un.org/resources/xml/en/consolidated.xml"
UN = (FIXTURES / "sanctions/un-consolidated.xml").read_bytes()


def test_un_list_changes_become_documents(
    server: FixtureServer, store: Store, settings: Settings
) -> None:
    options = SanctionsOptions(id="un-sc", url=UN_URL, format="un-consolidated")

    def poll_un(body: bytes) -> PollResult:
        server.routes[production_path(UN_URL)] = Route(body=body, content_type="text/xml")
        [result] = poll([options], store, settings, rewrite_to=server)
        assert result.status == "ok", result.error
        return result

    assert poll_un(UN).changes == []
    # Bookkeeping only (a new version number): not news.
    assert poll_un(UN.replace(b"<VERSIONNUM>1<", b"<VERSIONNUM>2<")).changes == []
    gen2 = UN.replace(b"<ALIAS_NAME>Haegumgang Trading Co.<", b"<ALIAS_NAME>HTC<")
    [change] = poll_un(gen2).changes
    doc = change.document
    assert doc.kind == "Amendment"
    assert doc.title == (
        "Amendment: HAEGUMGANG TRADING CORPORATION on UN consolidated list (aliases changed), "
        "programs DPRK"
    )
    assert "Aliases added: HTC (a.k.a.)" in doc.body.split("\n\n")
    assert "Aliases no longer listed: Haegumgang Trading Co. (a.k.a.)" in doc.body.split("\n\n")
    assert doc.url == f"{UN_URL}#6908202"


def test_a_list_may_be_bigger_than_the_feed_cap_up_to_its_own(
    server: FixtureServer, store: Store, tmp_path: Path
) -> None:
    from tests.conftest import fast_settings

    small = fast_settings(tmp_path, fetch_max_bytes=1000)  # below the 7.8 kB list
    serve(server, GEN1)
    [result] = poll([sdn_source()], store, small, rewrite_to=server)
    assert result.status == "ok", result.error
    serve(server, GEN2)  # new content: no 304
    [capped] = poll([sdn_source(max_bytes=2000)], store, small, rewrite_to=server)
    assert capped.status == "error"
    assert capped.error is not None and "exceeds the" in capped.error
