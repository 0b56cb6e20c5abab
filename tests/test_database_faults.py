"""The database unreachable for a while (PostgreSQL refusing connections to it): polls fail
as results naming the database, delivery waits without losing a row, other stores and
sources go on, and once the database is back everything is stored and alerted once."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy.engine import make_url

from monitor.alerts import build_channels
from monitor.alerts.worker import DeliveryRun, deliver_due
from monitor.fetch import Fetcher
from monitor.fixture_server import FixtureServer, RewriteTransport
from monitor.models import PollResult
from monitor.pipeline import PollContext, run_source
from monitor.rules import Rule, RuleSet, parse_query
from monitor.settings import Settings
from monitor.sources import SourceOptions
from monitor.store import Store
from tests.alerts.conftest import Clock, Hook, webhook_options
from tests.conftest import PG_URL, _pg_available, fast_settings, shipped_sources

POLL_BOUND = 10.0  # seconds for a poll against the unreachable database (takes < 1 s)
DELIVERY_BOUND = 10.0  # seconds for a delivery run against it (takes < 1 s)


class Database:
    """A dedicated PostgreSQL database that can be made unreachable and reachable again."""

    def __init__(self) -> None:
        self.name = f"monitor_fault_{uuid.uuid4().hex[:10]}"
        self.admin = sqlalchemy.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(sqlalchemy.text(f'CREATE DATABASE "{self.name}"'))
        self.url = make_url(PG_URL).set(database=self.name).render_as_string(hide_password=False)

    def _run(self, sql: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(sqlalchemy.text(sql), {"name": self.name})

    def go_down(self) -> None:
        self._run(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false')
        self._run(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = :name AND pid <> pg_backend_pid()"
        )

    def come_back(self) -> None:
        self._run(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true')

    def drop(self) -> None:
        self.come_back()
        self.go_down()  # end any session left, so the database can be dropped
        self._run(f'DROP DATABASE IF EXISTS "{self.name}"')
        self.admin.dispose()


@pytest.fixture
def database() -> Iterator[Database]:
    if not _pg_available():
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    db = Database()
    try:
        yield db
    finally:
        db.drop()


def _sources(*ids: str) -> list[SourceOptions]:
    by_id = {s.id: s for s in shipped_sources()}
    return [by_id[i] for i in ids]


def _poll(
    server: FixtureServer, settings: Settings, rules: RuleSet, *jobs: tuple[SourceOptions, Store]
) -> tuple[list[PollResult], float]:
    """Poll each (source, store) pair concurrently through one fetcher; and how long it took."""

    async def run() -> list[PollResult]:
        async with Fetcher(settings, transport=RewriteTransport(server.base_url)) as fetcher:
            return list(
                await asyncio.gather(
                    *(
                        run_source(
                            source,
                            PollContext(fetcher=fetcher, store=store, rules=rules, baseline=False),
                        )
                        for source, store in jobs
                    )
                )
            )

    started = time.monotonic()
    results = asyncio.run(run())
    return results, time.monotonic() - started


def _deliver(store: Store, settings: Settings, url: str, clock: Clock) -> tuple[DeliveryRun, float]:
    channels = build_channels({"ops": webhook_options(url)}, settings)  # fresh: a run closes them
    started = time.monotonic()
    run = asyncio.run(deliver_due(store, channels, settings, clock))
    return run, time.monotonic() - started


def test_database_unreachable_for_a_while(
    tmp_path: Path,
    production_server: FixtureServer,
    database: Database,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hook = Hook()
    production_server.routes["/hooks/ops"] = hook
    hook_url = production_server.url("/hooks/ops")
    settings = fast_settings(tmp_path, database_url=database.url)
    rules = RuleSet(
        [
            Rule(
                "biegun",
                "Stephen Biegun mentioned",
                "biegun",
                parse_query("biegun"),
                notify=("ops",),
            )
        ]
    )
    state, yonhap = _sources("state-press-releases", "yonhap-north-korea")
    store = Store.open(database.url)
    other = Store.open(f"sqlite:///{tmp_path}/other.db")  # another desk, in the same process
    clock = Clock()
    try:
        # Before the outage: the State Department's alerts are queued, not yet delivered.
        [before], _ = _poll(production_server, settings, rules, (state, store))
        assert before.status == "ok"
        queued = {r.key for r in store.outbox.rows()}
        assert len(queued) == 2

        database.go_down()
        caplog.clear()
        results, took = _poll(production_server, settings, rules, (yonhap, store), (state, other))
        down, elsewhere = results
        print(f"poll against the unreachable database: {took:.3f} s")
        assert took < POLL_BOUND, f"a poll against an unreachable database took {took:.1f} s"
        assert down.status == "error" and database.name in (down.error or "")
        assert "Traceback" not in (down.error or "") and "\n" not in (down.error or "")
        assert not any(r.exc_info for r in caplog.records), "no traceback is logged"
        # The same process, another store: polled and stored as if nothing happened.
        assert elsewhere.status == "ok" and len(elsewhere.changes) > 0

        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="monitor"):
            run, took = _deliver(store, settings, hook_url, clock)
        print(f"delivery run against the unreachable database: {took:.3f} s")
        assert took < DELIVERY_BOUND, f"a delivery run took {took:.1f} s"
        assert list(run) == [] and hook.received == []
        problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(problems) == 1 and not problems[0].exc_info
        assert database.name in problems[0].getMessage()

        database.come_back()
        rows = store.outbox.rows()
        assert {r.key for r in rows} == queued  # nothing lost...
        assert {(r.status, r.attempts) for r in rows} == {("pending", 0)}  # ...nor spent
        [after], _ = _poll(production_server, settings, rules, (yonhap, store))
        assert after.status == "ok" and len(after.changes) > 0
        clock.advance(60)
        delivered, _ = _deliver(store, settings, hook_url, clock)
        assert {d.status for d in delivered} == {"delivered"}
        clock.advance(3600)
        again, _ = _deliver(store, settings, hook_url, clock)
        assert list(again) == []
    finally:
        store.close()
        other.close()
    keys = [headers["Idempotency-Key"] for headers, _ in hook.received]
    assert len(keys) == 3 and len(set(keys)) == 3  # every alert, each once
    assert queued < set(keys)
    sources = {json.loads(body)["document"]["source_id"] for _, body in hook.received}
    assert sources == {"state-press-releases", "yonhap-north-korea"}
