"""Polls recorded in one batch (one transaction, one statement per table) leave the same
database, and report the same changes, as the same polls recorded one by one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, select

from monitor.fetch import Validators
from monitor.models import Document, Match, StoredChange
from monitor.store import Store
from monitor.store.outbox import NewAlert
from monitor.store.store import SeenItem
from tests.test_store import NOW, doc

FEED = "https://e.org/feed"
# Columns that differ between two equal histories: row ids and the versions' JSON copy.
IGNORED = {"id", "data", "alert_id"}


def match(document: Document, previous: Document | None) -> list[Match]:
    field = "body" if previous is None else "body (changed)"
    return [
        Match(
            rule_id="all",
            rule_name="Everything",
            document_id=document.id,
            version=document.version,
            field=field,
            terms=["x"],
            snippet=document.body[:20],
        )
    ]


def alerts(change: StoredChange, m: Match) -> list[NewAlert]:
    key = f"{m.rule_id}:{m.document_id}:{m.version}"
    return [NewAlert(key, "ops", m.rule_id, m.document_id, m.version, {"title": key})]


def polls() -> list[tuple[str, list[Document], dict[str, Any]]]:
    """A history that touches every table: sightings, updates, a revert, partial texts,
    forgotten entries and validators, identities kept across a caller that lacks them."""
    a1, a2 = doc("First text."), doc("Second text.")
    b = doc("Another release.", id="doc-2", url="https://e.org/b")
    c_feed = doc("Feed summary.", id="doc-3", url="https://e.org/c")
    c_full = doc("The full article text.", id="doc-3", url="https://e.org/c")
    common = {"match": match, "alerts": alerts}
    t = [NOW + timedelta(minutes=i) for i in range(8)]
    return [
        (
            "state",
            [a1, b],
            {
                "now": t[0],
                "seen": {"k1": SeenItem("f1", "doc-1"), "k2": "f2"},
                "validators": {FEED: Validators(etag='"1"')},
                "item_count": 2,
                **common,
            },
        ),
        ("archive", [a2], {"now": t[1], "seen": {"k1": "f1"}, **common}),
        (
            "state",
            [a2],
            {"now": t[2], "validators": {FEED: None}, "forget": ["k2"], "item_count": 1, **common},
        ),
        ("state", [a1], {"now": t[3], "seen": {"k1": SeenItem("f3")}, **common}),
        ("state", [c_feed], {"now": t[4], "partial": {"doc-3"}, "seen": {"k3": "f"}, **common}),
        ("state", [c_full], {"now": t[5], "validators": {FEED: Validators(etag='"2"')}, **common}),
        ("state", [c_feed], {"now": t[6], "partial": {"doc-3"}, **common}),
        ("archive", [b, c_full], {"now": t[7], "seen": {"k2": "f9"}, "forget": ["k1"], **common}),
    ]


def dump(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    tables = MetaData()
    tables.reflect(store.engine)
    out = {}
    with store.engine.connect() as conn:
        for name, table in sorted(tables.tables.items()):
            if name.startswith(("document_text", "alembic")):
                continue
            columns = [c for c in table.c if c.name not in IGNORED]
            rows = conn.execute(select(*columns)).all()
            out[name] = sorted((tuple(plain(v) for v in row) for row in rows), key=str)
    return out


def plain(value: Any) -> str:
    """A column's value as both databases give it (naive UTC datetimes, 0/1 booleans)."""
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, bool):
        return str(int(value))
    return str(value)


def summary(changes: list[StoredChange]) -> list[tuple[str, str, int, int]]:
    return [(c.document.id, c.change, c.document.version, len(c.matches)) for c in changes]


def test_a_batch_records_what_the_polls_one_by_one_record(store: Store, tmp_path: Path) -> None:
    one_by_one = Store.open(f"sqlite:///{tmp_path}/reference.db")
    try:
        expected = [summary(one_by_one.record_poll(s, d, **kw)) for s, d, kw in polls()]
        reference = dump(one_by_one)
    finally:
        one_by_one.close()
    results = store.record_polls(polls())
    assert [summary(r) for r in results if not isinstance(r, Exception)] == expected
    # The history says what it should: a sighting, an update, a revert that is no update,
    # a partial text replaced by the full one and never the other way round.
    assert [c[1] for r in expected for c in r] == [
        "new", "new", "sighting", "updated", "unchanged", "new", "updated", "unchanged",
        "sighting", "sighting",
    ]  # fmt: skip
    assert dump(store) == reference
    assert store.validators(FEED) == Validators(etag='"2"')


def test_a_batch_whose_poll_fails_records_the_others(store: Store) -> None:
    def broken(document: Document, previous: Document | None) -> list[Match]:
        raise RuntimeError("matcher bug")

    batch = polls()[:3]
    batch[2][2]["match"] = broken
    results = store.record_polls(batch)
    assert isinstance(results[2], RuntimeError)
    assert summary(results[0]) == [("doc-1", "new", 1, 1), ("doc-2", "new", 1, 1)]  # type: ignore[arg-type]
    assert summary(results[1]) == [("doc-1", "sighting", 1, 0)]  # type: ignore[arg-type]
    assert [v.body for v in store.versions("doc-1")] == ["First text."]
