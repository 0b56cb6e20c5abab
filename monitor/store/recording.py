"""Recording polls: what each document of a poll is, and the writes of many polls at once.

A Document is *new* (first seen), *updated* (its content hash changed: version + 1, older
versions kept), *unchanged*, or a *sighting* (another source reached a release that a first
source reported: recorded, never a new version).

`record` takes the polls of one transaction in order and classifies each poll's documents
against what the database holds *and* what the polls before it in the batch wrote, so a
batch gives the same result as the same polls recorded one by one. Its writes are then
gathered by table: one statement per table for the whole batch (executemany), built once
per dialect, instead of a dozen statements per poll.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, select, update
from sqlalchemy.sql.dml import Insert, Update

from monitor.fetch import Validators
from monitor.models import Change, Document, Match, StoredChange
from monitor.store.access import upsert_insert
from monitor.store.outbox import NewAlert, write_alerts
from monitor.store.polls import PollLog, PollRecord
from monitor.store.tables import (
    document_versions,
    documents,
    http_cache,
    matches,
    seen_items,
    sightings,
    source_state,
)
from monitor.store.textindex import index_documents

Matcher = Callable[[Document, Document | None], list[Match]]
AlertMaker = Callable[[StoredChange, Match], list[NewAlert]]
CHUNK = 500  # ids per IN (…) list


def url_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


@dataclass(frozen=True)
class SeenItem:
    """What the store remembers of one feed/listing entry.

    `url_id` is the document id the entry's URL gives; `by_guid` says the entry shares that
    URL with another entry of the feed and is told apart by its guid (for good: the choice
    is remembered so that it survives the other entry leaving the feed). `failures` counts
    the polls in a row whose attempt to follow the entry's link failed for now; meanwhile
    `fingerprint` is the one last followed ('' for none), so the entry is retried. `data` is
    what a list source keeps of an entry (JSON), written when given.
    """

    fingerprint: str
    url_id: str | None = None
    by_guid: bool = False
    failures: int = 0
    data: Mapping[str, Any] | None = field(default=None, compare=False, hash=False)


@dataclass
class PollWrite:
    """One successful poll to record (the keywords of `Store.record_poll`).

    `seen` maps feed item keys to their fingerprints (or SeenItems); `forget` lists keys no
    longer in the source (entries removed from a list), whose rows go; `validators` maps
    URLs to their validators, None forgetting them (the next fetch is in full). `partial`
    holds the ids of documents whose text is the feed's fallback: such a text never
    replaces a full text stored before. New and updated documents are matched with
    `match(document, previous_version)`, and `alerts(change, match)` makes their alerts.
    """

    source_id: str
    docs: list[Document]
    now: datetime
    seen: Mapping[str, str | SeenItem] | None = None
    forget: Collection[str] = ()
    validators: Mapping[str, Validators | None] | None = None
    partial: Collection[str] = ()
    item_count: int | None = None
    status: str = "ok"
    duration: float | None = None
    http_status: int | None = None
    dry_run: bool = False
    match: Matcher | None = None
    alerts: AlertMaker | None = None

    def record(self, changes: list[StoredChange]) -> PollRecord:
        counts = Counter(c.change for c in changes)
        return PollRecord(
            self.source_id,
            self.now,
            self.status,
            self.duration,
            self.http_status,
            new=counts["new"],
            updated=counts["updated"],
            unchanged=counts["unchanged"],
            item_count=self.item_count,
        )


@dataclass
class _Stored:
    """A document's row as the batch sees it (the database's, or a batch poll's write)."""

    source_id: str
    version: int
    content_hash: str
    partial: bool


def record(conn: Connection, polls: list[PollWrite], log: PollLog) -> list[list[StoredChange]]:
    """Classify, match and (unless dry runs) write `polls`, in order, in `conn`'s transaction."""
    changes = classify(conn, polls)
    live = [(p, c) for p, c in zip(polls, changes, strict=True) if not p.dry_run]
    if live:
        _Writes(conn, live).run(log)
    return changes


def classify(conn: Connection, polls: list[PollWrite]) -> list[list[StoredChange]]:
    """What each poll's documents are, and their matches (see the module's docstring)."""
    uniques = [list({doc.id: doc for doc in poll.docs}.values()) for poll in polls]
    stored = _stored(conn, list(dict.fromkeys(d.id for docs in uniques for d in docs)))
    changed = [
        d.id
        for poll, docs in zip(polls, uniques, strict=True)
        for d in docs
        if (row := stored.get(d.id)) is not None
        and row.source_id == poll.source_id
        and row.content_hash != d.content_hash
    ]
    earlier = _hashes(conn, list(dict.fromkeys(changed)))
    written: dict[tuple[str, int], Document] = {}  # versions this batch writes
    out = []
    for poll, docs in zip(polls, uniques, strict=True):
        partial = set(poll.partial)
        changes = [
            _classify(doc, stored.get(doc.id), poll.source_id, doc.id in partial, earlier)
            for doc in docs
        ]
        for change in changes:
            doc = change.document
            if poll.match is not None and change.change in ("new", "updated"):
                previous = None
                if change.change == "updated":
                    previous = written.get((doc.id, doc.version - 1)) or _version(
                        conn, doc.id, doc.version - 1
                    )
                change.matches = poll.match(doc, previous)
            if poll.dry_run or change.change not in ("new", "updated"):
                continue
            # The polls after this one in the batch see what it writes.
            stored[doc.id] = _Stored(
                poll.source_id, doc.version, doc.content_hash, doc.id in partial
            )
            earlier.add((doc.id, doc.content_hash))
            written[(doc.id, doc.version)] = doc
        out.append(changes)
    return out


def _stored(conn: Connection, ids: list[str]) -> dict[str, _Stored]:
    found: dict[str, _Stored] = {}
    columns = (
        documents.c.id,
        documents.c.source_id,
        documents.c.version,
        documents.c.content_hash,
        documents.c.partial,
    )
    for chunk in chunks(ids):
        for row in conn.execute(select(*columns).where(documents.c.id.in_(chunk))):
            found[row.id] = _Stored(row.source_id, row.version, row.content_hash, bool(row.partial))
    return found


def _hashes(conn: Connection, ids: list[str]) -> set[tuple[str, str]]:
    """(document id, content hash) of every stored version of these documents."""
    found: set[tuple[str, str]] = set()
    for chunk in chunks(ids):
        rows = conn.execute(
            select(document_versions.c.document_id, document_versions.c.content_hash).where(
                document_versions.c.document_id.in_(chunk)
            )
        )
        found.update((row.document_id, row.content_hash) for row in rows)
    return found


def _classify(
    doc: Document,
    row: _Stored | None,
    source_id: str,
    partial: bool,
    earlier: set[tuple[str, str]],
) -> StoredChange:
    change: Change
    if row is None:
        change, version = "new", 1
    elif row.source_id != source_id:
        change, version = "sighting", row.version
    elif row.content_hash == doc.content_hash:
        change, version = "unchanged", row.version
    elif partial and not row.partial:
        # The article page failed and the feed's text stood in: keep the full text.
        change, version = "unchanged", row.version
    elif (doc.id, doc.content_hash) in earlier:
        # Back to a text the document already had (a reverted edit): not news.
        change, version = "unchanged", row.version
    else:
        change, version = "updated", row.version + 1
    return StoredChange(document=doc.model_copy(update={"version": version}), change=change)


def _version(conn: Connection, doc_id: str, version: int) -> Document | None:
    row = conn.execute(
        select(document_versions.c.data).where(
            document_versions.c.document_id == doc_id, document_versions.c.version == version
        )
    ).first()
    return Document.model_validate(row.data) if row else None


# -- the batch's writes ------------------------------------------------------------------


class _Writes:
    """The rows of a batch of polls, gathered by table (later polls win on a shared key)."""

    def __init__(self, conn: Connection, polls: list[tuple[PollWrite, list[StoredChange]]]):
        self.conn, self.polls = conn, polls
        self.dialect = conn.dialect.name

    def run(self, log: PollLog) -> None:
        self._documents()
        self._matches()
        self._seen()
        self._validators()
        self._states()
        log.write(self.conn, [poll.record(changes) for poll, changes in self.polls])

    def _documents(self) -> None:
        new: list[dict[str, Any]] = []
        updated: list[dict[str, Any]] = []
        versions: list[Document] = []
        touched: dict[str, datetime] = {}
        seen_by: dict[tuple[str, str], dict[str, Any]] = {}
        for poll, changes in self.polls:
            partial = set(poll.partial)
            for change in changes:
                d = change.document
                if change.change == "new":
                    new.append(_document_row(d, poll.source_id, poll.now, d.id in partial))
                elif change.change == "updated":
                    updated.append(_update_row(d, poll.now, d.id in partial))
                elif d.source_id == poll.source_id:  # unchanged, or a sighting of its own
                    touched[d.id] = poll.now
                if change.change in ("new", "updated"):
                    versions.append(d)
                key = (d.id, poll.source_id)
                first = seen_by.get(key)
                seen_by[key] = {
                    "document_id": d.id,
                    "source_id": poll.source_id,
                    "url": first["url"] if first else d.url,
                    "first_seen_at": first["first_seen_at"] if first else poll.now,
                    "last_seen_at": poll.now,
                }
        conn = self.conn
        if new:
            conn.execute(documents.insert(), new)
        if updated:
            conn.execute(_update_document(), updated)
        if touched:
            rows = [{"b_id": i, "b_now": now} for i, now in touched.items()]
            conn.execute(_touch_document(), rows)
        if versions:
            conn.execute(
                document_versions.insert(),
                [
                    {
                        "document_id": d.id,
                        "version": d.version,
                        "content_hash": d.content_hash,
                        "fetched_at": d.fetched_at,
                        "data": d.model_dump(mode="json"),
                    }
                    for d in versions
                ],
            )
            # The backtest's word index, in step (each document's latest text).
            index_documents(conn, list({d.id: d for d in versions}.values()))
        if seen_by:
            conn.execute(_upsert(self.dialect, "sightings"), list(seen_by.values()))

    def _matches(self) -> None:
        rows = [
            _match_row(m, poll.now)
            for poll, changes in self.polls
            for c in changes
            for m in c.matches
        ]
        if rows:
            self.conn.execute(matches.insert(), rows)
        alerts: dict[datetime, list[NewAlert]] = {}
        for poll, changes in self.polls:
            if poll.alerts is not None:
                made = [a for c in changes for m in c.matches for a in poll.alerts(c, m)]
                alerts.setdefault(poll.now, []).extend(made)
        for now, made in alerts.items():
            write_alerts(self.conn, made, now)

    def _seen(self) -> None:
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        forget: dict[tuple[str, str], None] = {}
        for poll, _ in self.polls:
            for key in poll.forget:
                forget[(poll.source_id, key)] = None
                rows.pop((poll.source_id, key), None)
            for key, value in (poll.seen or {}).items():
                item = value if isinstance(value, SeenItem) else SeenItem(value)
                row = {
                    "source_id": poll.source_id,
                    "item_key": key,
                    "fingerprint": item.fingerprint,
                    "seen_at": poll.now,
                    "url_id": item.url_id,
                    "by_guid": item.by_guid,
                    "follow_failures": item.failures,
                    "data": item.data,
                }
                before = rows.get((poll.source_id, key))
                if item.url_id is None and before is not None and before["url_id"] is not None:
                    # An entry's identity, once recorded, stays: a caller that does not know
                    # it (None) must not erase it.
                    row.update(url_id=before["url_id"], by_guid=before["by_guid"])
                rows[(poll.source_id, key)] = row
                forget.pop((poll.source_id, key), None)
        by_source: dict[str, list[str]] = {}
        for source_id, key in forget:
            by_source.setdefault(source_id, []).append(key)
        for source_id, keys in by_source.items():
            for chunk in chunks(keys):
                self.conn.execute(
                    seen_items.delete().where(
                        seen_items.c.source_id == source_id, seen_items.c.item_key.in_(chunk)
                    )
                )
        recorded = [r for r in rows.values() if r["url_id"] is not None]
        bare = [r for r in rows.values() if r["url_id"] is None]
        if recorded:
            self.conn.execute(_upsert(self.dialect, "seen"), recorded)
        if bare:
            self.conn.execute(_upsert(self.dialect, "seen_bare"), bare)

    def _validators(self) -> None:
        latest: dict[str, tuple[str, Validators | None, datetime]] = {}
        for poll, _ in self.polls:
            for url, v in (poll.validators or {}).items():
                latest[url_key(url)] = (url, v, poll.now)
        forget = [key for key, (_, v, _) in latest.items() if v is None]
        for chunk in chunks(forget):
            self.conn.execute(http_cache.delete().where(http_cache.c.url_hash.in_(chunk)))
        rows = [
            {
                "url_hash": key,
                "url": url,
                "etag": v.etag,
                "last_modified": v.last_modified,
                "updated_at": now,
            }
            for key, (url, v, now) in latest.items()
            if v is not None
        ]
        if rows:
            self.conn.execute(_upsert(self.dialect, "http_cache"), rows)

    def _states(self) -> None:
        rows: dict[str, dict[str, Any]] = {}
        for poll, _ in self.polls:
            before = rows.get(poll.source_id)
            count = poll.item_count
            rows[poll.source_id] = {
                "b_sid": poll.source_id,
                "b_now": poll.now,
                "b_status": poll.status,
                # A poll that does not count its items keeps the count last written.
                "b_count": before["b_count"] if count is None and before else count,
            }
        if self.conn.execute(_state_update(), list(rows.values())).rowcount == len(rows):
            return
        have: set[str] = set()
        for chunk in chunks(list(rows)):
            have.update(
                self.conn.execute(
                    select(source_state.c.source_id).where(source_state.c.source_id.in_(chunk))
                ).scalars()
            )
        missing = [
            {
                "source_id": r["b_sid"],
                "last_polled_at": r["b_now"],
                "last_success_at": r["b_now"],
                "last_status": r["b_status"],
                "last_error": None,
                "consecutive_failures": 0,
                "last_item_count": r["b_count"],
            }
            for sid, r in rows.items()
            if sid not in have
        ]
        if missing:
            self.conn.execute(source_state.insert(), missing)


def write_state(
    conn: Connection,
    source_id: str,
    now: datetime,
    *,
    status: str,
    error: str | None,
    item_count: int | None,
) -> None:
    """One source's state after a poll (a failed one counts against it)."""
    failed = status == "error"
    values: dict[str, Any] = {"last_polled_at": now, "last_status": status, "last_error": error}
    if failed:
        values["consecutive_failures"] = source_state.c.consecutive_failures + 1
    else:
        values.update(consecutive_failures=0, last_success_at=now)
        if item_count is not None:
            values["last_item_count"] = item_count
    changed = conn.execute(
        update(source_state).where(source_state.c.source_id == source_id).values(**values)
    ).rowcount
    if not changed:
        values["consecutive_failures"] = 1 if failed else 0
        conn.execute(source_state.insert().values(source_id=source_id, **values))


def _document_row(d: Document, source_id: str, now: datetime, partial: bool) -> dict[str, Any]:
    return {
        "id": d.id,
        "source_id": source_id,
        "url": d.url,
        "title": d.title,
        "kind": d.kind,
        "published_at": d.published_at,
        "version": 1,
        "content_hash": d.content_hash,
        "first_seen_at": now,
        "last_seen_at": now,
        "partial": partial,
    }


def _update_row(d: Document, now: datetime, partial: bool) -> dict[str, Any]:
    return {
        "b_id": d.id,
        "b_title": d.title,
        "b_url": d.url,
        "b_kind": d.kind,
        "b_published_at": d.published_at,
        "b_version": d.version,
        "b_content_hash": d.content_hash,
        "b_now": now,
        "b_partial": partial,
    }


def _match_row(m: Match, now: datetime) -> dict[str, Any]:
    return {
        "rule_id": m.rule_id,
        "rule_name": m.rule_name,
        "document_id": m.document_id,
        "version": m.version,
        "field": m.field,
        "terms": m.terms,
        "snippet": m.snippet,
        "highlights": [list(h) for h in m.highlights],
        "positions": [list(p) for p in m.positions],
        "matched_at": now,
    }


# -- statements, built once --------------------------------------------------------------


@cache
def _update_document() -> Update:
    return (
        update(documents)
        .where(documents.c.id == bindparam("b_id"))
        .values(
            title=bindparam("b_title"),
            url=bindparam("b_url"),
            kind=bindparam("b_kind"),
            published_at=bindparam("b_published_at"),
            version=bindparam("b_version"),
            content_hash=bindparam("b_content_hash"),
            last_seen_at=bindparam("b_now"),
            partial=bindparam("b_partial"),
        )
    )


@cache
def _touch_document() -> Update:
    return (
        update(documents)
        .where(documents.c.id == bindparam("b_id"))
        .values(last_seen_at=bindparam("b_now"))
    )


@cache
def _state_update() -> Update:
    return (
        update(source_state)
        .where(source_state.c.source_id == bindparam("b_sid"))
        .values(
            last_polled_at=bindparam("b_now"),
            last_success_at=bindparam("b_now"),
            last_status=bindparam("b_status"),
            last_error=None,
            consecutive_failures=0,
            last_item_count=func.coalesce(bindparam("b_count"), source_state.c.last_item_count),
        )
    )


_SEEN_COLUMNS = ["fingerprint", "seen_at", "follow_failures", "data"]
# name → (table, conflict keys, columns a conflict updates)
_UPSERTS: dict[str, tuple[Table, list[str], list[str]]] = {
    "sightings": (sightings, ["document_id", "source_id"], ["last_seen_at"]),
    "seen": (seen_items, ["source_id", "item_key"], [*_SEEN_COLUMNS, "url_id", "by_guid"]),
    "seen_bare": (seen_items, ["source_id", "item_key"], _SEEN_COLUMNS),
    "http_cache": (http_cache, ["url_hash"], ["etag", "last_modified", "updated_at"]),
}


@cache
def _upsert(dialect: str, name: str) -> Insert:
    """INSERT … ON CONFLICT (keys) DO UPDATE, on SQLite and PostgreSQL alike."""
    table, keys, columns = _UPSERTS[name]
    statement = upsert_insert(dialect, table)
    return statement.on_conflict_do_update(
        index_elements=keys, set_={column: statement.excluded[column] for column in columns}
    )
