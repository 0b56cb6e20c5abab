"""The Store: documents and their versions, sightings, and per-source/per-URL poll state.

Every poll is recorded in one transaction (`record_poll`): its documents, the feed items it
saw, the HTTP validators it received and the source's state, so a crash leaves either all of
a poll or none of it. A Document is *new* (first seen), *updated* (its content hash changed:
version + 1, older versions kept), *unchanged*, or a *sighting* (another source reached a
release that a first source reported: recorded, never a new version).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    create_engine,
    event,
    func,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from monitor.errors import StoreError
from monitor.fetch import Validators
from monitor.models import Change, Document, Match, StoredChange
from monitor.rules.prefilter import Condition
from monitor.store.access import db_reason as _reason
from monitor.store.browse import Browse
from monitor.store.feedback import FeedbackStore
from monitor.store.outbox import NewAlert, Outbox, write_alerts
from monitor.store.polls import PollLog, PollRecord, Polls
from monitor.store.tables import (
    alert_attempts,
    document_versions,
    documents,
    http_cache,
    matches,
    outbox,
    seen_items,
    sightings,
    source_leases,
    source_state,
)
from monitor.store.textindex import candidate_ids, index_documents

Matcher = Callable[[Document, Document | None], list[Match]]
AlertMaker = Callable[[StoredChange, Match], list[NewAlert]]
_MIGRATIONS = Path(__file__).parent / "migrations"
# The newest migration; checked against Alembic's head by a test. When the database is
# already there, start-up skips loading Alembic (half a second of imports).
SCHEMA_REVISION = "0012"
_CHUNK = 500
_VALIDATOR_CACHE = 100_000
_TOUCH_BATCH = 200
_TOUCH_SECONDS = 5.0


def url_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


class StoreConflict(StoreError):
    """Another writer (a replica) stored the same row first; retrying sees its row."""


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
class SourceState:
    """What the store remembers about a source's polls."""

    source_id: str
    last_polled_at: datetime | None
    last_success_at: datetime | None
    last_status: str | None
    consecutive_failures: int
    last_error: str | None
    last_item_count: int | None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _only_touch(kwargs: Mapping[str, Any], docs: list[Document]) -> bool:
    """A poll answered 304: it only moves the source's timestamps (written in batches)."""
    return (
        kwargs.get("status") == "not_modified"
        and not docs
        and not kwargs.get("seen")
        and not kwargs.get("validators")
    )


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


class Store:
    """SQLite or PostgreSQL through SQLAlchemy; schema managed by Alembic."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.outbox = Outbox(engine)
        self.polls = Polls(engine)
        self._poll_log = PollLog()
        self.browse = Browse(engine)  # what the web pages read
        self.feedback = FeedbackStore(engine)
        self._validators: dict[str, Validators | None] = {}
        # Polls answered 304 only move timestamps: their state is written in batches.
        self._touched: dict[str, PollRecord] = {}
        self._touched_since = 0.0
        # Polls may be recorded from a writer thread (monitor.store.writer) while the event
        # loop's thread records others: the batched timestamps are shared between them.
        self._lock = threading.Lock()

    @classmethod
    def open(cls, database_url: str, *, migrate: bool = True) -> Store:
        """Connect (creating a SQLite file's folder) and bring the schema up to date."""
        try:
            url = make_url(database_url)
        except Exception as err:  # noqa: BLE001 - SQLAlchemy raises several types here
            raise StoreError(f"invalid database URL: {err}") from None
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            folder = Path(url.database).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise StoreError(
                    f"MONITOR_DATABASE_URL: cannot create the database folder '{folder}': "
                    f"{err.strerror or err}"
                ) from None
        try:
            engine = create_engine(url, future=True, pool_pre_ping=True)
        except ImportError:  # the URL's driver is missing (Settings checks this first)
            raise StoreError(
                f"MONITOR_DATABASE_URL: the database driver for '{url.drivername}' is not "
                "installed (for PostgreSQL: pip install -e '.[postgres]')"
            ) from None
        if url.get_backend_name() == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        store = cls(engine)
        if migrate and store.revision() != SCHEMA_REVISION:
            store.upgrade()
        return store

    def revision(self) -> str | None:
        """The schema revision the database is at (None for an empty database)."""
        try:
            with self.engine.connect() as conn:
                if not inspect(conn).has_table("alembic_version"):
                    return None
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except SQLAlchemyError as err:
            raise StoreError(f"cannot open the database: {_reason(err)}") from None

    def upgrade(self) -> None:
        """Apply pending Alembic migrations."""
        from alembic import command  # imported here: it costs 0.5 s at start-up
        from alembic.config import Config as AlembicConfig

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        try:
            with self.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    # Replicas starting together: one migrates, the others wait for it.
                    conn.execute(text("SELECT pg_advisory_xact_lock(7452163)"))
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except SQLAlchemyError as err:
            raise StoreError(f"cannot migrate the database: {_reason(err)}") from None

    def close(self) -> None:
        self.flush()
        self.engine.dispose()

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except IntegrityError as err:
            raise StoreConflict(f"concurrent write: {str(err).splitlines()[0][:200]}") from None
        except SQLAlchemyError as err:
            raise StoreError(f"database error: {_reason(err)}") from None

    # -- HTTP validators and feed items ------------------------------------------------

    def validators(self, url: str) -> Validators | None:
        """The ETag / Last-Modified last received for `url`.

        Cached in memory after the first read: if another replica stored newer validators,
        the worst case is one full response where a 304 would have done.
        """
        if url in self._validators:
            return self._validators[url]
        with self._transaction() as conn:
            row = conn.execute(
                select(http_cache.c.etag, http_cache.c.last_modified).where(
                    http_cache.c.url_hash == url_key(url)
                )
            ).first()
        found = Validators(etag=row.etag, last_modified=row.last_modified) if row else None
        self._remember_validators({url: found})
        return found

    def load_validators(self, urls: Iterable[str]) -> None:
        """Read the validators of many URLs into memory at once (a cycle's sources)."""
        wanted = {url_key(url): url for url in urls if url not in self._validators}
        found: dict[str, Validators | None] = dict.fromkeys(wanted.values())
        with self._transaction() as conn:
            for chunk in _chunks(list(wanted)):
                rows = conn.execute(
                    select(
                        http_cache.c.url_hash, http_cache.c.etag, http_cache.c.last_modified
                    ).where(http_cache.c.url_hash.in_(chunk))
                )
                for row in rows:
                    found[wanted[row.url_hash]] = Validators(row.etag, row.last_modified)
        self._remember_validators(found)

    def _remember_validators(self, validators: dict[str, Validators | None]) -> None:
        if len(self._validators) + len(validators) > _VALIDATOR_CACHE:
            self._validators.clear()
        self._validators.update(validators)

    def fingerprints(self, source_id: str, keys: Iterable[str]) -> dict[str, str]:
        """The fingerprint stored for each feed item key this source has seen."""
        return {key: item.fingerprint for key, item in self.seen_items(source_id, keys).items()}

    def seen_items(self, source_id: str, keys: Iterable[str]) -> dict[str, SeenItem]:
        """What is stored for each feed item key this source has seen."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, SeenItem] = {}
        columns = (
            seen_items.c.item_key,
            seen_items.c.fingerprint,
            seen_items.c.url_id,
            seen_items.c.by_guid,
            seen_items.c.follow_failures,
        )
        with self._transaction() as conn:
            for chunk in _chunks(wanted):
                rows = conn.execute(
                    select(*columns).where(
                        seen_items.c.source_id == source_id, seen_items.c.item_key.in_(chunk)
                    )
                )
                found.update(
                    {
                        r.item_key: SeenItem(
                            r.fingerprint, r.url_id, bool(r.by_guid), r.follow_failures
                        )
                        for r in rows
                    }
                )
        return found

    def snapshot(self, source_id: str) -> dict[str, str]:
        """Every entry key this source has seen, with its fingerprint (a list's last snapshot)."""
        with self._transaction() as conn:
            rows = conn.execute(
                select(seen_items.c.item_key, seen_items.c.fingerprint).where(
                    seen_items.c.source_id == source_id
                )
            )
            return {row.item_key: row.fingerprint for row in rows}

    def seen_data(self, source_id: str, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """What a list source stored of each of these entries (those with data)."""
        found: dict[str, dict[str, Any]] = {}
        with self._transaction() as conn:
            for chunk in _chunks(list(dict.fromkeys(keys))):
                rows = conn.execute(
                    select(seen_items.c.item_key, seen_items.c.data).where(
                        seen_items.c.source_id == source_id,
                        seen_items.c.item_key.in_(chunk),
                        seen_items.c.data.is_not(None),
                    )
                )
                found.update({row.item_key: row.data for row in rows if row.data is not None})
        return found

    def url_claims(self, source_id: str, url_ids: Iterable[str]) -> dict[str, str]:
        """For each URL id, the key of an entry of this source identified by that URL."""
        wanted = list(dict.fromkeys(url_ids))
        found: dict[str, str] = {}
        with self._transaction() as conn:
            for chunk in _chunks(wanted):
                rows = conn.execute(
                    select(seen_items.c.url_id, seen_items.c.item_key).where(
                        seen_items.c.source_id == source_id,
                        seen_items.c.url_id.in_(chunk),
                        seen_items.c.by_guid.is_(False),
                    )
                )
                found.update({row.url_id: row.item_key for row in rows})
        return found

    # -- recording polls ----------------------------------------------------------------

    def record_poll(
        self, source_id: str, docs: list[Document], **kwargs: Any
    ) -> list[StoredChange]:
        """Store one successful poll atomically (see `_record_poll`); a replica that stored
        the same new document at the same moment makes this retry once, seeing its row."""
        try:
            return self._record_poll(source_id, docs, **kwargs)
        except StoreConflict:
            return self._record_poll(source_id, docs, **kwargs)

    def _record_poll(
        self, source_id: str, docs: list[Document], **kwargs: Any
    ) -> list[StoredChange]:
        """Store one successful poll atomically; returns what happened to each document.

        New and updated documents are matched with `match(document, previous_version)`; the
        matches, and the outbox alerts `alerts(change, match)` makes of them, are written in
        the same transaction as the documents.
        `seen` maps feed item keys to their fingerprints (or SeenItems); `forget` lists keys
        no longer in the source (entries removed from a list), whose rows go; `validators` maps
        URLs to their validators, None forgetting them (the next fetch is in full).
        `partial` holds the ids of documents whose text is the feed's fallback: such a text
        never replaces a full text stored before.
        With `dry_run`, nothing is written and the changes say what *would* happen.
        """
        if _only_touch(kwargs, docs):
            if not kwargs.get("dry_run"):
                self._touch(
                    PollRecord(
                        source_id,
                        kwargs["now"],
                        "not_modified",
                        kwargs.get("duration"),
                        kwargs.get("http_status"),
                    )
                )
            return []
        with self._transaction() as conn:
            changes = self._record_in(conn, source_id, docs, **kwargs)
        self._committed([kwargs])
        return changes

    def record_polls(
        self, polls: list[tuple[str, list[Document], dict[str, Any]]]
    ) -> list[list[StoredChange] | Exception]:
        """Store many polls (source id, documents, `record_poll` keywords) in one transaction.

        Each poll's result is its changes, or the error that stopped it: when the batch
        cannot be committed, each poll is tried again in its own transaction, so that one
        poll's conflict or failure is that poll's alone. Dry runs are not batched.
        """
        batched = [
            i
            for i, (_, docs, kw) in enumerate(polls)
            if not kw.get("dry_run") and not _only_touch(kw, docs)
        ]
        results: list[list[StoredChange] | Exception] = [[] for _ in polls]
        alone = [i for i in range(len(polls)) if i not in set(batched)]
        if len(batched) > 1:
            try:
                with self._transaction() as conn:
                    for i in batched:
                        source_id, docs, kw = polls[i]
                        results[i] = self._record_in(conn, source_id, docs, **kw)
                self._committed([polls[i][2] for i in batched])
            except Exception:  # noqa: BLE001 - rolled back: each poll again, on its own
                alone = list(range(len(polls)))
        else:
            alone = list(range(len(polls)))
        for i in sorted(alone):
            source_id, docs, kw = polls[i]
            try:
                results[i] = self.record_poll(source_id, docs, **kw)
            except Exception as err:  # noqa: BLE001 - handed to that poll's caller
                results[i] = err
        return results

    def _committed(self, polls: list[dict[str, Any]]) -> None:
        # Only now that the polls are committed: a cached ETag whose poll was rolled back
        # would make the next poll a 304 and lose that poll's documents.
        for kw in polls:
            if kw.get("validators") and not kw.get("dry_run"):
                self._remember_validators(dict(kw["validators"]))

    def _record_in(
        self,
        conn: Connection,
        source_id: str,
        docs: list[Document],
        *,
        now: datetime,
        seen: Mapping[str, str | SeenItem] | None = None,
        forget: Collection[str] = (),
        validators: Mapping[str, Validators | None] | None = None,
        partial: Collection[str] = (),
        item_count: int | None = None,
        status: str = "ok",
        duration: float | None = None,
        http_status: int | None = None,
        dry_run: bool = False,
        match: Matcher | None = None,
        alerts: AlertMaker | None = None,
    ) -> list[StoredChange]:
        """One poll's writes inside the caller's transaction (see `_record_poll`)."""
        if not dry_run:
            with self._lock:
                self._touched.pop(source_id, None)
        unique = list({doc.id: doc for doc in docs}.values())
        existing = self._existing(conn, [d.id for d in unique])
        earlier = self._earlier_hashes(conn, unique, existing, source_id)
        changes = [
            self._classify(doc, existing.get(doc.id), source_id, doc.id in partial, earlier)
            for doc in unique
        ]
        if match is not None:
            for change in changes:
                if change.change in ("new", "updated"):
                    previous = (
                        self._version(conn, change.document.id, change.document.version - 1)
                        if change.change == "updated"
                        else None
                    )
                    change.matches = match(change.document, previous)
        if dry_run:
            conn.rollback()
            return changes
        self._write_documents(conn, changes, source_id, now, partial)
        self._write_matches(conn, [m for c in changes for m in c.matches], now)
        if alerts is not None:
            write_alerts(conn, [a for c in changes for m in c.matches for a in alerts(c, m)], now)
        if seen:
            self._write_seen(conn, source_id, seen, now)
        for chunk in _chunks(list(forget)):
            conn.execute(
                seen_items.delete().where(
                    seen_items.c.source_id == source_id, seen_items.c.item_key.in_(chunk)
                )
            )
        if validators:
            self._write_validators(conn, validators, now)
        self._write_state(conn, source_id, now, status=status, error=None, item_count=item_count)
        counts = Counter(c.change for c in changes)
        record = PollRecord(
            source_id,
            now,
            status,
            duration,
            http_status,
            new=counts["new"],
            updated=counts["updated"],
            unchanged=counts["unchanged"],
            item_count=item_count,
        )
        self._poll_log.write(conn, [record])
        return changes

    def _touch(self, record: PollRecord) -> None:
        if self.touch(record):
            self.flush()

    def touch(self, record: PollRecord) -> bool:
        """Remember a poll answered 304 (in memory); True when the batch is due for `flush`."""
        with self._lock:
            if not self._touched:
                self._touched_since = time.monotonic()
            self._touched[record.source_id] = record
            return (
                len(self._touched) >= _TOUCH_BATCH
                or time.monotonic() - self._touched_since >= _TOUCH_SECONDS
            )

    def flush(self) -> None:
        """Write the state of sources whose polls were answered 304 (batched: one statement
        for all of them, and an insert only for a source that has no state yet)."""
        with self._lock:
            touched, self._touched = self._touched, {}
        if not touched:
            return
        rows = [{"sid": source_id, "now": r.started_at} for source_id, r in touched.items()]
        statement = (
            update(source_state)
            .where(source_state.c.source_id == bindparam("sid"))
            .values(
                last_polled_at=bindparam("now"),
                last_success_at=bindparam("now"),
                last_status="not_modified",
                last_error=None,
                consecutive_failures=0,
            )
        )
        with self._transaction() as conn:
            if conn.execute(statement, rows).rowcount != len(rows):
                self._insert_missing_states(conn, touched)
            self._poll_log.write(conn, list(touched.values()))

    def _insert_missing_states(self, conn: Connection, touched: dict[str, PollRecord]) -> None:
        have: set[str] = set()
        for chunk in _chunks(list(touched)):
            have.update(
                conn.execute(
                    select(source_state.c.source_id).where(source_state.c.source_id.in_(chunk))
                ).scalars()
            )
        for source_id, record in touched.items():
            if source_id not in have:
                self._write_state(
                    conn,
                    source_id,
                    record.started_at,
                    status="not_modified",
                    error=None,
                    item_count=None,
                )

    def claim_poll(self, source_id: str, holder: str, now: datetime, min_gap: float) -> bool:
        """Take this period's poll of a source; False if a replica started one < min_gap ago.

        Replicas sharing a database each schedule every source; the first to claim the
        period polls it. A replica that dies holds nothing: the next period is free again.
        """
        insert = sqlite_insert if self.engine.dialect.name == "sqlite" else postgresql_insert
        with self._transaction() as conn:
            conn.execute(
                insert(source_leases)
                .values(source_id=source_id, holder=None, last_started_at=None)
                .on_conflict_do_nothing(index_elements=["source_id"])
            )
            taken = conn.execute(
                update(source_leases)
                .where(
                    source_leases.c.source_id == source_id,
                    source_leases.c.last_started_at.is_(None)
                    | (source_leases.c.last_started_at <= now - timedelta(seconds=min_gap)),
                )
                .values(holder=holder, last_started_at=now)
            ).rowcount
        return taken == 1

    def source_state(self, source_id: str) -> SourceState | None:
        self.flush()
        with self._transaction() as conn:
            row = conn.execute(
                select(source_state).where(source_state.c.source_id == source_id)
            ).first()
        return SourceState(**row._mapping) if row else None

    def enqueue(self, alerts: list[NewAlert], now: datetime) -> None:
        """Queue alerts that do not come from a match (ops alerts)."""
        with self._transaction() as conn:
            write_alerts(conn, alerts, now)

    def prune(self, before: datetime) -> tuple[int, int]:
        """Delete superseded document versions and sent or dead alerts older than `before`.

        The latest version of every document is kept, whatever its age.
        """
        with self._transaction() as conn:
            latest = (
                select(documents.c.version)
                .where(documents.c.id == document_versions.c.document_id)
                .scalar_subquery()
            )
            versions = conn.execute(
                document_versions.delete().where(
                    document_versions.c.fetched_at < before,
                    document_versions.c.version < latest,
                )
            ).rowcount
            old_alerts = outbox.c.status.in_(["delivered", "dead"]) & (outbox.c.created_at < before)
            conn.execute(
                alert_attempts.delete().where(
                    alert_attempts.c.alert_id.in_(select(outbox.c.id).where(old_alerts))
                )
            )
            alerts = conn.execute(outbox.delete().where(old_alerts)).rowcount
        return int(versions), int(alerts)

    def record_failure(
        self,
        source_id: str,
        error: str,
        *,
        now: datetime,
        duration: float | None = None,
        http_status: int | None = None,
    ) -> None:
        """Count a failed poll against the source (and add it to the poll history)."""
        with self._lock:
            self._touched.pop(source_id, None)
        record = PollRecord(source_id, now, "error", duration, http_status, error=error)
        with self._transaction() as conn:
            self._write_state(conn, source_id, now, status="error", error=error, item_count=None)
            self._poll_log.write(conn, [record])

    def _existing(self, conn: Connection, ids: list[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for chunk in _chunks(ids):
            rows = conn.execute(
                select(
                    documents.c.id,
                    documents.c.source_id,
                    documents.c.version,
                    documents.c.content_hash,
                    documents.c.partial,
                ).where(documents.c.id.in_(chunk))
            )
            found.update({row.id: row for row in rows})
        return found

    @staticmethod
    def _earlier_hashes(
        conn: Connection, docs: list[Document], existing: dict[str, Any], source_id: str
    ) -> set[tuple[str, str]]:
        """(document id, content hash) of the stored versions of documents that changed."""
        changed = [
            d.id
            for d in docs
            if (row := existing.get(d.id)) is not None
            and row.source_id == source_id
            and row.content_hash != d.content_hash
        ]
        found: set[tuple[str, str]] = set()
        for chunk in _chunks(changed):
            rows = conn.execute(
                select(document_versions.c.document_id, document_versions.c.content_hash).where(
                    document_versions.c.document_id.in_(chunk)
                )
            )
            found.update((row.document_id, row.content_hash) for row in rows)
        return found

    @staticmethod
    def _classify(
        doc: Document, row: Any, source_id: str, partial: bool, earlier: set[tuple[str, str]]
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

    def _write_documents(
        self,
        conn: Connection,
        changes: list[StoredChange],
        source_id: str,
        now: datetime,
        partial: Collection[str],
    ) -> None:
        new = [c.document for c in changes if c.change == "new"]
        updated = [c.document for c in changes if c.change == "updated"]
        touched = [c.document for c in changes if c.change in ("unchanged", "sighting")]
        if new:
            conn.execute(
                documents.insert(),
                [
                    {
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
                        "partial": d.id in partial,
                    }
                    for d in new
                ],
            )
        for d in updated:
            conn.execute(
                update(documents)
                .where(documents.c.id == d.id)
                .values(
                    title=d.title,
                    url=d.url,
                    kind=d.kind,
                    published_at=d.published_at,
                    version=d.version,
                    content_hash=d.content_hash,
                    last_seen_at=now,
                    partial=d.id in partial,
                )
            )
        for chunk in _chunks([d.id for d in touched if d.source_id == source_id]):
            conn.execute(
                update(documents).where(documents.c.id.in_(chunk)).values(last_seen_at=now)
            )
        if new or updated:
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
                    for d in (*new, *updated)
                ],
            )
            index_documents(conn, [*new, *updated])  # the backtest's word index, in step
        self._write_sightings(conn, [c.document for c in changes], source_id, now)

    @staticmethod
    def _version(conn: Connection, doc_id: str, version: int) -> Document | None:
        row = conn.execute(
            select(document_versions.c.data).where(
                document_versions.c.document_id == doc_id, document_versions.c.version == version
            )
        ).first()
        return Document.model_validate(row.data) if row else None

    @staticmethod
    def _write_matches(conn: Connection, found: list[Match], now: datetime) -> None:
        if found:
            conn.execute(
                matches.insert(),
                [
                    {
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
                    for m in found
                ],
            )

    def matches(
        self, *, document_id: str | None = None, rule_id: str | None = None, limit: int = 100
    ) -> list[Match]:
        """Stored matches, newest first."""
        query = select(matches)
        if document_id:
            query = query.where(matches.c.document_id == document_id)
        if rule_id:
            query = query.where(matches.c.rule_id == rule_id)
        query = query.order_by(matches.c.matched_at.desc(), matches.c.id.desc()).limit(limit)
        with self._transaction() as conn:
            rows = conn.execute(query).all()
        return [
            Match(
                rule_id=r.rule_id,
                rule_name=r.rule_name,
                document_id=r.document_id,
                version=r.version,
                field=r.field,
                terms=r.terms,
                snippet=r.snippet,
                highlights=[tuple(h) for h in r.highlights],
                positions=[tuple(p) for p in r.positions],
            )
            for r in rows
        ]

    def _upsert(
        self,
        conn: Connection,
        table: Table,
        rows: list[dict[str, Any]],
        keys: list[str],
        update_columns: list[str],
    ) -> None:
        """INSERT … ON CONFLICT (keys) DO UPDATE, on SQLite and PostgreSQL alike."""
        if not rows:
            return
        insert = sqlite_insert if conn.dialect.name == "sqlite" else postgresql_insert
        statement = insert(table)
        statement = statement.on_conflict_do_update(
            index_elements=keys,
            set_={column: statement.excluded[column] for column in update_columns},
        )
        conn.execute(statement, rows)

    def _write_sightings(
        self, conn: Connection, docs: list[Document], source_id: str, now: datetime
    ) -> None:
        rows = [
            {
                "document_id": d.id,
                "source_id": source_id,
                "url": d.url,
                "first_seen_at": now,
                "last_seen_at": now,
            }
            for d in docs
        ]
        self._upsert(conn, sightings, rows, ["document_id", "source_id"], ["last_seen_at"])

    def _write_seen(
        self,
        conn: Connection,
        source_id: str,
        seen: Mapping[str, str | SeenItem],
        now: datetime,
    ) -> None:
        items = {k: v if isinstance(v, SeenItem) else SeenItem(v) for k, v in seen.items()}
        rows = [
            {
                "source_id": source_id,
                "item_key": key,
                "fingerprint": item.fingerprint,
                "seen_at": now,
                "url_id": item.url_id,
                "by_guid": item.by_guid,
                "follow_failures": item.failures,
                "data": item.data,
            }
            for key, item in items.items()
        ]
        # An entry's identity, once recorded, stays: a caller that does not know it (None)
        # must not erase it.
        recorded = [r for r in rows if r["url_id"] is not None]
        bare = [r for r in rows if r["url_id"] is None]
        columns = ["fingerprint", "seen_at", "follow_failures", "data"]
        self._upsert(
            conn, seen_items, recorded, ["source_id", "item_key"], [*columns, "url_id", "by_guid"]
        )
        self._upsert(conn, seen_items, bare, ["source_id", "item_key"], columns)

    def _write_validators(
        self, conn: Connection, validators: Mapping[str, Validators | None], now: datetime
    ) -> None:
        forget = [url_key(url) for url, v in validators.items() if v is None]
        for chunk in _chunks(forget):
            conn.execute(http_cache.delete().where(http_cache.c.url_hash.in_(chunk)))
        rows = [
            {
                "url_hash": url_key(url),
                "url": url,
                "etag": v.etag,
                "last_modified": v.last_modified,
                "updated_at": now,
            }
            for url, v in validators.items()
            if v is not None
        ]
        self._upsert(conn, http_cache, rows, ["url_hash"], ["etag", "last_modified", "updated_at"])

    def _write_state(
        self,
        conn: Connection,
        source_id: str,
        now: datetime,
        *,
        status: str,
        error: str | None,
        item_count: int | None,
    ) -> None:
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

    # -- reading --------------------------------------------------------------------------

    def source_states(
        self, *, flush: bool = True, source_id: str | None = None
    ) -> dict[str, SourceState]:
        """Every source's state (or one's); `flush=False` for readers in other threads (the
        web pages), which leave batched 304 polls to the poller (their state is then up to
        5 s old)."""
        if flush:
            self.flush()
        query = select(source_state)
        if source_id is not None:
            query = query.where(source_state.c.source_id == source_id)
        with self._transaction() as conn:
            rows = conn.execute(query).all()
        return {row.source_id: SourceState(**row._mapping) for row in rows}

    def document(self, doc_id: str, version: int | None = None) -> Document | None:
        """A stored Document (its latest version unless `version` is given)."""
        query = select(document_versions.c.data).where(document_versions.c.document_id == doc_id)
        if version is not None:
            query = query.where(document_versions.c.version == version)
        query = query.order_by(document_versions.c.version.desc()).limit(1)
        with self._transaction() as conn:
            row = conn.execute(query).first()
        return Document.model_validate(row.data) if row else None

    def versions(self, doc_id: str) -> list[Document]:
        with self._transaction() as conn:
            rows = conn.execute(
                select(document_versions.c.data)
                .where(document_versions.c.document_id == doc_id)
                .order_by(document_versions.c.version)
            ).all()
        return [Document.model_validate(row.data) for row in rows]

    def find_ids(self, prefix: str) -> list[str]:
        """Document ids starting with `prefix` (users paste shortened ids)."""
        with self._transaction() as conn:
            rows = conn.execute(
                select(documents.c.id).where(documents.c.id.startswith(prefix)).limit(5)
            ).all()
        return [row.id for row in rows]

    def sightings_of(self, doc_id: str) -> list[str]:
        with self._transaction() as conn:
            rows = conn.execute(
                select(sightings.c.source_id).where(sightings.c.document_id == doc_id)
            ).all()
        return sorted(row.source_id for row in rows)

    def recent_documents(self, source_id: str | None = None, limit: int = 20) -> list[Any]:
        """Rows (id, source_id, title, kind, published_at, version, first_seen_at), newest first."""
        query = select(
            documents.c.id,
            documents.c.source_id,
            documents.c.title,
            documents.c.kind,
            documents.c.published_at,
            documents.c.version,
            documents.c.first_seen_at,
            documents.c.url,
        )
        if source_id:
            query = query.where(documents.c.source_id == source_id)
        query = query.order_by(
            documents.c.first_seen_at.desc(), documents.c.published_at.desc()
        ).limit(limit)
        with self._transaction() as conn:
            return list(conn.execute(query).all())

    def _documents_filter(self, query: Any, since: datetime | None, source_id: str | None) -> Any:
        if since is not None:
            query = query.where(
                func.coalesce(documents.c.published_at, documents.c.first_seen_at) >= since
            )
        if source_id:
            query = query.where(documents.c.source_id == source_id)
        return query

    def count_documents(self, since: datetime | None = None, source_id: str | None = None) -> int:
        query = self._documents_filter(
            select(func.count()).select_from(documents), since, source_id
        )
        with self._transaction() as conn:
            return int(conn.execute(query).scalar_one())

    def sample_documents(self, limit: int = 500) -> list[Document]:
        """The most recently first-seen documents (for word statistics)."""
        query = (
            select(document_versions.c.data)
            .join(
                documents,
                (document_versions.c.document_id == documents.c.id)
                & (document_versions.c.version == documents.c.version),
            )
            .order_by(documents.c.first_seen_at.desc())
            .limit(limit)
        )
        with self._transaction() as conn:
            return [Document.model_validate(row.data) for row in conn.execute(query)]

    def candidate_ids(self, condition: Condition | None) -> list[str] | None:
        """Ids of the stored documents that hold the words `condition` asks for (the
        full-text index, `textindex`), sorted; None when every document must be read."""
        with self._transaction() as conn:
            return candidate_ids(conn, condition)

    def iter_documents(
        self,
        since: datetime | None = None,
        source_id: str | None = None,
        batch: int = 500,
        ids: Sequence[str] | None = None,
    ) -> Iterator[Document]:
        """Latest versions of stored documents, oldest first, read in batches (only those
        of `ids`, sorted, if given)."""
        if ids is not None:
            yield from self._iter_ids(ids, since, source_id, batch)
            return
        last = ""
        while True:
            query = (
                select(documents.c.id, document_versions.c.data)
                .join(
                    document_versions,
                    (document_versions.c.document_id == documents.c.id)
                    & (document_versions.c.version == documents.c.version),
                )
                .where(documents.c.id > last)
                .order_by(documents.c.id)
                .limit(batch)
            )
            with self._transaction() as conn:
                rows = conn.execute(self._documents_filter(query, since, source_id)).all()
            if not rows:
                return
            for row in rows:
                yield Document.model_validate(row.data)
            last = rows[-1].id

    def _iter_ids(
        self, ids: Sequence[str], since: datetime | None, source_id: str | None, batch: int
    ) -> Iterator[Document]:
        for start in range(0, len(ids), batch):
            query = (
                select(document_versions.c.data)
                .join(
                    documents,
                    (document_versions.c.document_id == documents.c.id)
                    & (document_versions.c.version == documents.c.version),
                )
                .where(documents.c.id.in_(ids[start : start + batch]))
                .order_by(documents.c.id)
            )
            with self._transaction() as conn:
                rows = conn.execute(self._documents_filter(query, since, source_id)).all()
            for row in rows:
                yield Document.model_validate(row.data)

    def document_kinds(self) -> list[str]:
        """The kinds stored documents have (for checking rules' `kinds:` filters)."""
        query = select(documents.c.kind).where(documents.c.kind.is_not(None)).distinct()
        with self._transaction() as conn:
            return sorted(row.kind for row in conn.execute(query))

    def document_sources(self) -> list[str]:
        """The sources that stored documents came from."""
        with self._transaction() as conn:
            rows = conn.execute(select(documents.c.source_id).distinct()).all()
        return sorted(row.source_id for row in rows)

    def newest_date(self, source_id: str | None = None) -> datetime | None:
        """The latest publication date (first-seen time when undated) of stored documents."""
        query = self._documents_filter(
            select(func.max(func.coalesce(documents.c.published_at, documents.c.first_seen_at))),
            None,
            source_id,
        )
        with self._transaction() as conn:
            value = conn.execute(query).scalar_one()
        if isinstance(value, str):  # SQLite hands back the aggregate as text
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value and value.tzinfo is None else value
