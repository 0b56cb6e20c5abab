"""The Store: documents and their versions, sightings, and per-source/per-URL poll state.

Every poll is recorded in one transaction (`record_poll`): its documents, the feed items it
saw, the HTTP validators it received and the source's state, so a crash leaves either all of
a poll or none of it. A Document is *new* (first seen), *updated* (its content hash changed:
version + 1, older versions kept), *unchanged*, or a *sighting* (another source reached a
release that a first source reported: recorded, never a new version).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    create_engine,
    event,
    func,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from monitor.errors import StoreError
from monitor.fetch import Validators
from monitor.models import Document, Match, StoredChange
from monitor.rules.prefilter import Condition
from monitor.store import recording
from monitor.store.access import db_reason as _reason
from monitor.store.access import upsert_insert
from monitor.store.browse import Browse
from monitor.store.feedback import FeedbackStore
from monitor.store.outbox import NewAlert, Outbox, write_alerts
from monitor.store.polls import PollLog, PollRecord, Polls
from monitor.store.recording import (
    AlertMaker,
    Matcher,
    PollWrite,
    SeenItem,
    chunks,
    url_key,
    write_state,
)
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
from monitor.store.textindex import candidate_ids

__all__ = ["AlertMaker", "Matcher", "SeenItem", "SourceState", "Store", "url_key"]
_MIGRATIONS = Path(__file__).parent / "migrations"
# The newest migration; checked against Alembic's head by a test. When the database is
# already there, start-up skips loading Alembic (half a second of imports).
SCHEMA_REVISION = "0012"
_VALIDATOR_CACHE = 100_000
_TOUCH_BATCH = 200
_TOUCH_SECONDS = 5.0


class StoreConflict(StoreError):
    """Another writer (a replica) stored the same row first; retrying sees its row."""


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
        # Sources known to have completed a poll (a fact that never reverts): their polls
        # are no baseline, and asking costs no query.
        self._succeeded: set[str] = set()

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
            # A server may drop idle connections; a SQLite file's never go stale, and the
            # ping would cost a query per transaction (~75 µs, several per poll).
            engine = create_engine(
                url, future=True, pool_pre_ping=url.get_backend_name() != "sqlite"
            )
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
                elif conn.dialect.name == "sqlite":
                    # Python's sqlite3 opens a transaction before DML only: each CREATE TABLE
                    # would commit on its own, and a process killed mid-migration would leave
                    # tables without a revision, refused at every later start. SQLite's DDL
                    # is transactional once a transaction is open.
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
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
            for chunk in chunks(list(wanted)):
                rows = conn.execute(
                    select(
                        http_cache.c.url_hash, http_cache.c.etag, http_cache.c.last_modified
                    ).where(http_cache.c.url_hash.in_(chunk))
                )
                for row in rows:
                    found[wanted[row.url_hash]] = Validators(row.etag, row.last_modified)
        self._remember_validators(found)

    def load_succeeded(self, source_ids: Iterable[str]) -> None:
        """Learn at once which of these sources completed a poll before (a cycle's)."""
        wanted = [s for s in dict.fromkeys(source_ids) if s not in self._succeeded]
        with self._transaction() as conn:
            for chunk in chunks(wanted):
                self._succeeded.update(
                    conn.execute(
                        select(source_state.c.source_id).where(
                            source_state.c.source_id.in_(chunk),
                            source_state.c.last_success_at.is_not(None),
                        )
                    ).scalars()
                )

    def has_succeeded(self, source_id: str, *, ask: bool = True) -> bool:
        """Whether the source ever completed a poll (`ask=False`: from memory only, no
        query — False then means "not known to")."""
        if source_id in self._succeeded or not ask:
            return source_id in self._succeeded
        state = self.source_state(source_id)
        if state is not None and state.last_success_at is not None:
            self._succeeded.add(source_id)
        return source_id in self._succeeded

    def _remember_validators(self, validators: dict[str, Validators | None]) -> None:
        if len(self._validators) + len(validators) > _VALIDATOR_CACHE:
            self._validators.clear()
        self._validators.update(validators)

    def fingerprints(self, source_id: str, keys: Iterable[str]) -> dict[str, str]:
        """The fingerprint stored for each feed item key this source has seen."""
        return {key: item.fingerprint for key, item in self.seen_items(source_id, keys).items()}

    def seen_items(self, source_id: str, keys: Iterable[str]) -> dict[str, SeenItem]:
        """What is stored for each feed item key this source has seen."""
        rows = self._source_rows(_SEEN_READ, source_id, keys)
        return {
            key: SeenItem(fingerprint, url_id, bool(by_guid), failures)
            for key, fingerprint, url_id, by_guid, failures in rows
        }

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
            for chunk in chunks(list(dict.fromkeys(keys))):
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
        return dict(self._source_rows(_CLAIMS_READ, source_id, url_ids))

    def _source_rows(
        self, read: tuple[str, str], source_id: str, values: Iterable[str]
    ) -> list[tuple[Any, ...]]:
        """Rows of one of the per-poll reads below (`_SEEN_READ`, `_CLAIMS_READ`) for these
        values of its IN list, in chunks."""
        wanted = list(dict.fromkeys(values))
        rows: list[tuple[Any, ...]] = []
        with self._transaction() as conn:
            for chunk in chunks(wanted):
                sql = _in_list_sql(*read, len(chunk), conn.dialect.paramstyle)
                rows += [tuple(row) for row in conn.exec_driver_sql(sql, (source_id, *chunk))]
        return rows

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
        """Store one successful poll atomically; returns what happened to each document
        (`recording.PollWrite` says what the keywords mean).

        New and updated documents are matched, and the matches and the outbox alerts made
        of them are written in the same transaction as the documents. With `dry_run`,
        nothing is written and the changes say what *would* happen.
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
        return self._record([PollWrite(source_id, docs, **kwargs)])[0]

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
        in_batch = set(batched)
        alone = [i for i in range(len(polls)) if i not in in_batch]
        if len(batched) > 1:
            try:
                written = self._record(
                    [PollWrite(polls[i][0], polls[i][1], **polls[i][2]) for i in batched]
                )
                for i, changes in zip(batched, written, strict=True):
                    results[i] = changes
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

    def _record(self, polls: list[PollWrite]) -> list[list[StoredChange]]:
        """Record polls in one transaction (a dry run's is rolled back)."""
        with self._lock:
            for poll in polls:
                if not poll.dry_run:
                    self._touched.pop(poll.source_id, None)
        with self._transaction() as conn:
            changes = recording.record(conn, polls, self._poll_log)
            if any(poll.dry_run for poll in polls):
                conn.rollback()
        # Only now that the polls are committed: a cached ETag whose poll was rolled back
        # would make the next poll a 304 and lose that poll's documents.
        for poll in polls:
            if not poll.dry_run:
                self._succeeded.add(poll.source_id)
                if poll.validators:
                    self._remember_validators(dict(poll.validators))
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
        for chunk in chunks(list(touched)):
            have.update(
                conn.execute(
                    select(source_state.c.source_id).where(source_state.c.source_id.in_(chunk))
                ).scalars()
            )
        for source_id, record in touched.items():
            if source_id not in have:
                write_state(
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
        with self._transaction() as conn:
            conn.execute(
                upsert_insert(conn.dialect.name, source_leases)
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
            write_state(conn, source_id, now, status="error", error=error, item_count=None)
            self._poll_log.write(conn, [record])

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


# The two reads every poll makes, per entry key or URL id, sent as the driver's own SQL:
# SQLAlchemy's compilation of the expanding IN list and its row processing cost ~4× the
# query itself (measured: 250 µs → 60 µs for a 20-item feed on SQLite). Each is a SELECT
# of seen_items for one source, and the condition its IN list completes.
_SEEN_READ = (
    "SELECT item_key, fingerprint, url_id, by_guid, follow_failures FROM seen_items",
    "item_key IN",
)
_CLAIMS_READ = ("SELECT url_id, item_key FROM seen_items", "NOT by_guid AND url_id IN")


@cache
def _in_list_sql(select: str, condition: str, count: int, paramstyle: str) -> str:
    mark = "?" if paramstyle == "qmark" else "%s"
    return f"{select} WHERE source_id = {mark} AND {condition} ({', '.join([mark] * count)})"
