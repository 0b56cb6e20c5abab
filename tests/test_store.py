"""The store contract, run on SQLite and (where a server answers) PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, inspect, text

from monitor.errors import StoreError
from monitor.fetch import Validators
from monitor.models import Document
from monitor.store import Store
from monitor.store.store import _MIGRATIONS, SCHEMA_REVISION, SeenItem

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def doc(body: str = "Special Representative Biegun met Lee Do-hoon.", **fields: object) -> Document:
    values: dict[str, object] = {
        "id": "doc-1",
        "source_id": "state",
        "url": "https://e.org/a",
        "title": "U.S.-ROK",
        "kind": "Media Note",
        "published_at": datetime(2018, 11, 20, 21, 6, tzinfo=UTC),
        "body": body,
        "content_hash": str(hash(body)),
        "fetched_at": NOW,
    }
    values.update(fields)
    return Document(**values)  # type: ignore[arg-type]


def test_new_unchanged_updated_and_versions_kept(store: Store) -> None:
    [first] = store.record_poll("state", [doc()], now=NOW)
    assert (first.change, first.document.version) == ("new", 1)
    [same] = store.record_poll("state", [doc()], now=NOW + timedelta(minutes=10))
    assert same.change == "unchanged"
    [changed] = store.record_poll("state", [doc("Corrected text.")], now=NOW + timedelta(hours=1))
    assert (changed.change, changed.document.version) == ("updated", 2)
    versions = store.versions("doc-1")
    assert [(v.version, v.body) for v in versions] == [
        (1, "Special Representative Biegun met Lee Do-hoon."),
        (2, "Corrected text."),
    ]
    stored = store.document("doc-1")
    assert stored is not None and stored.version == 2
    assert stored.published_at == datetime(2018, 11, 20, 21, 6, tzinfo=UTC)
    assert store.document("doc-1", version=1).body.startswith("Special")  # type: ignore[union-attr]


def test_another_source_is_a_sighting_never_a_version(store: Store) -> None:
    store.record_poll("state", [doc()], now=NOW)
    [seen] = store.record_poll("archive", [doc("Different text on the archive.")], now=NOW)
    assert seen.change == "sighting"
    assert [v.version for v in store.versions("doc-1")] == [1]
    assert store.sightings_of("doc-1") == ["archive", "state"]


def test_duplicate_ids_in_one_poll_are_stored_once(store: Store) -> None:
    changes = store.record_poll("state", [doc(), doc()], now=NOW)
    assert len(changes) == 1 and store.count_documents() == 1


def test_dry_run_writes_nothing(store: Store) -> None:
    [change] = store.record_poll(
        "state",
        [doc()],
        now=NOW,
        dry_run=True,
        validators={"https://e.org/feed": Validators(etag='"x"')},
    )
    assert change.change == "new"
    assert store.count_documents() == 0 and store.validators("https://e.org/feed") is None


def test_validators_and_item_fingerprints_round_trip(store: Store) -> None:
    store.record_poll(
        "state",
        [],
        now=NOW,
        seen={"k1": "f1"},
        validators={"https://e.org/feed": Validators('"abc"', "Tue, 20 Nov")},
    )
    store.record_poll(
        "state",
        [],
        now=NOW,
        seen={"k1": "f2", "k2": "f3"},
        validators={"https://e.org/feed": Validators('"def"', None)},
    )
    assert store.validators("https://e.org/feed") == Validators('"def"', None)
    assert store.fingerprints("state", ["k1", "k2", "k3"]) == {"k1": "f2", "k2": "f3"}
    assert store.fingerprints("other", ["k1"]) == {}


def test_source_state_counts_failures(store: Store) -> None:
    store.record_failure("state", "HTTP 500", now=NOW)
    store.record_failure("state", "timed out", now=NOW)
    state = store.source_states()["state"]
    assert (state.consecutive_failures, state.last_error) == (2, "timed out")
    store.record_poll("state", [], now=NOW, item_count=7)
    state = store.source_states()["state"]
    assert (state.consecutive_failures, state.last_item_count) == (0, 7)
    assert state.last_success_at == NOW


def test_recent_documents_filter_and_prefix_lookup(store: Store) -> None:
    store.record_poll("state", [doc(), doc(id="doc-2", url="https://e.org/b")], now=NOW)
    store.record_poll("news", [doc(id="other", source_id="news")], now=NOW)
    assert {r.id for r in store.recent_documents("state")} == {"doc-1", "doc-2"}
    assert len(store.recent_documents(limit=1)) == 1
    assert sorted(store.find_ids("doc-")) == ["doc-1", "doc-2"]


def test_schema_revision_constant_is_alembic_head() -> None:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == SCHEMA_REVISION


def test_reopening_keeps_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/sub/dir/monitor.db"
    Store.open(url).record_poll("state", [doc()], now=NOW)
    reopened = Store.open(url)
    assert reopened.revision() == SCHEMA_REVISION and reopened.count_documents() == 1


def test_unusable_database_url_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="invalid database URL"):
        Store.open("not a url")


def test_feed_text_standing_in_never_replaces_a_full_text(store: Store) -> None:
    store.record_poll("state", [doc("The full release.")], now=NOW)
    [fallback] = store.record_poll("state", [doc("The teaser.")], now=NOW, partial={"doc-1"})
    assert fallback.change == "unchanged"
    assert [v.body for v in store.versions("doc-1")] == ["The full release."]


def test_feed_text_is_replaced_by_the_full_text_once_the_page_answers(store: Store) -> None:
    [first] = store.record_poll("state", [doc("The teaser.")], now=NOW, partial={"doc-1"})
    assert first.change == "new"
    [later] = store.record_poll("state", [doc("The teaser, edited.")], now=NOW, partial={"doc-1"})
    assert later.change == "updated"
    [full] = store.record_poll("state", [doc("The full release.")], now=NOW)
    assert (full.change, full.document.version) == ("updated", 3)
    [again] = store.record_poll("state", [doc("Another teaser.")], now=NOW, partial={"doc-1"})
    assert again.change == "unchanged"


def test_a_text_the_document_had_before_is_not_an_update(store: Store) -> None:
    store.record_poll("state", [doc("First text.")], now=NOW)
    store.record_poll("state", [doc("Second text.")], now=NOW)
    [back] = store.record_poll("state", [doc("First text.")], now=NOW)
    assert back.change == "unchanged"
    assert [v.version for v in store.versions("doc-1")] == [1, 2]


def test_validators_given_as_none_are_forgotten(store: Store) -> None:
    feed = "https://e.org/feed"
    store.record_poll("state", [], now=NOW, validators={feed: Validators('"abc"', None)})
    store.record_poll("state", [], now=NOW, validators={feed: None})
    assert store.validators(feed) is None
    assert Store(store.engine).validators(feed) is None  # in the database, not only in memory


def test_entry_identities_round_trip(store: Store) -> None:
    store.record_poll(
        "state",
        [],
        now=NOW,
        seen={"k1": SeenItem("f1", "url-a"), "k2": SeenItem("f2", "url-a", by_guid=True)},
    )
    store.record_poll("state", [], now=NOW, seen={"k1": "f3"})  # fingerprint only: id kept
    assert store.seen_items("state", ["k1", "k2"]) == {
        "k1": SeenItem("f3", "url-a"),
        "k2": SeenItem("f2", "url-a", by_guid=True),
    }
    assert store.url_claims("state", ["url-a", "url-b"]) == {"url-a": "k1"}
    assert store.url_claims("other", ["url-a"]) == {}


def test_upgrade_from_0004_keeps_rows_and_fills_defaults(tmp_path: Path) -> None:
    from alembic import command

    url = f"sqlite:///{tmp_path}/old.db"
    engine = create_engine(url)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
        conn.execute(
            text(
                "INSERT INTO seen_items (source_id, item_key, fingerprint, seen_at) "
                "VALUES ('state', 'k1', 'f1', '2026-11-23 12:00:00')"
            )
        )
    engine.dispose()
    store = Store.open(url)
    assert store.revision() == SCHEMA_REVISION
    assert store.seen_items("state", ["k1"]) == {"k1": SeenItem("f1")}
    [first] = store.record_poll("state", [doc()], now=NOW)
    assert first.change == "new"
    store.close()


def test_a_migration_cut_short_leaves_nothing_behind(tmp_path: Path) -> None:
    # `kill -9` during the first migration: whatever it had created must go with it, or
    # every later start fails ("table documents already exists").
    url = f"sqlite:///{tmp_path}/monitor.db"
    store = Store.open(url, migrate=False)
    created: list[str] = []

    def cut(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("CREATE TABLE"):
            created.append(statement)
            if len(created) == 3:
                raise RuntimeError("killed")

    event.listen(store.engine, "before_cursor_execute", cut)
    with pytest.raises(RuntimeError, match="killed"):
        store.upgrade()
    event.remove(store.engine, "before_cursor_execute", cut)
    store.close()
    assert inspect(create_engine(url)).get_table_names() == []
    again = Store.open(url)
    assert again.revision() == SCHEMA_REVISION
    again.close()
