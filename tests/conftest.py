"""Shared test fixtures: loopback fixture server, fast settings, stores on every backend."""

from __future__ import annotations

import asyncio
import functools
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy

from monitor.config import load_config
from monitor.fetch import Fetcher
from monitor.fixture_server import FixtureServer, RewriteTransport, load_url_map
from monitor.models import PollResult
from monitor.pipeline import PollContext, run_sources
from monitor.rules import RuleSet
from monitor.settings import Settings
from monitor.sources import SourceOptions
from monitor.store import Store

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
CONFIG = ROOT / "config"
PG_URL = os.environ.get("MONITOR_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

# The shipped channels are off until these are set (`optional: true`); tests of other
# behaviour set them, as a desk that uses monitor would.
SHIPPED_CHANNELS_ENV = {
    "POLICY_EMAIL_TO": "analysts@example.org",
    "OPS_WEBHOOK_URL": "http://127.0.0.1:9/hooks/ops",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests (`@pytest.mark.slow`) first, so that no worker is left with one at the end;
    browser tests last: while Playwright's sync API lives it keeps an event loop running in
    the main thread, and an asyncio.run() of a later test would fail. Otherwise the order
    stays as collected."""
    items.sort(
        key=lambda item: (
            item.nodeid.startswith("tests/browser/"),
            item.get_closest_marker("slow") is None,
        )
    )


_WIDE_FIXTURE = re.compile(r"@pytest\.fixture\([^)]*scope=[\"'](module|class|package|session)[\"']")
_GROUP_MARK = re.compile(r"^pytestmark = .*pytest\.mark\.xdist_group\([\"']([\w-]+)[\"']\)", re.M)


def _kept_together(tests: Path) -> dict[str, str]:
    """Node id paths run whole on one worker, each with its work unit: test modules that
    define a module- (class-, package-, session-) scoped fixture, and folders whose
    conftest.py does (tests/browser: one Chromium and one `monitor run`), each its own unit;
    test modules marked `pytestmark = pytest.mark.xdist_group("NAME")`, one unit per NAME.
    The top conftest's fixtures are per worker anyway."""
    root = tests.parent
    kept = {}
    for path in tests.rglob("*.py"):
        if path.name == "conftest.py" and path.parent == tests:
            continue
        if not (path.name.startswith("test_") or path.name == "conftest.py"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        target = (path.parent if path.name == "conftest.py" else path).relative_to(root)
        group = _GROUP_MARK.search(text)
        if group:
            kept[target.as_posix()] = f"group:{group[1]}"
        elif _WIDE_FIXTURE.search(text):
            kept[target.as_posix()] = target.as_posix()
    return kept


def _unit(nodeid: str, kept: dict[str, str]) -> str:
    """The work unit of a test: that of the kept module or folder it is in, or itself."""
    path = nodeid.split("::", 1)[0]
    for candidate in [path, *(p.as_posix() for p in Path(path).parents)]:
        if candidate in kept:
            return kept[candidate]
    return nodeid


@pytest.hookimpl(optionalhook=True)  # pytest-xdist may be absent (-p no:xdist)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadgroup` (pyproject.toml): tests are handed out one at a time, in the order
    above, except that a module defining a module-scoped fixture (the demo database, the
    ingested corpus, a PKI) goes to one worker whole, so that the fixture is built once;
    likewise a folder whose conftest.py defines one (tests/browser).

    pytest-xdist's own grouping (the `xdist_group` mark) renames node ids in a way pytest 9
    no longer sees, so the groups are made here, from the node ids, on the controller.
    """
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    kept = _kept_together(ROOT / "tests")
    config.option.loadscopereorder = False  # keep the slow-first order

    class Scheduler(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.rfind("@") > nodeid.rfind("]"):  # an xdist_group mark (pytest < 9)
                return nodeid.split("@")[-1]
            return _unit(nodeid, kept)

    return Scheduler(config, log)


def fast_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Settings for tests: no politeness delay, quick retries, short timeouts."""
    values: dict[str, object] = {
        "database_url": f"sqlite:///{tmp_path}/monitor.db",
        "host_delay": 0.0,
        "fetch_attempts": 3,
        "fetch_backoff": 0.01,
        "fetch_read_timeout": 1.0,
        "fetch_connect_timeout": 1.0,
        "fetch_deadline": 5.0,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return fast_settings(tmp_path)


@pytest.fixture
def production_server() -> Iterator[FixtureServer]:
    """The recorded production URLs of fixtures/urls.yaml, served on loopback."""
    with FixtureServer(load_url_map(FIXTURES)) as server:
        yield server


@pytest.fixture
def server() -> Iterator[FixtureServer]:
    """An empty loopback server; tests add routes."""
    with FixtureServer() as server:
        yield server


@functools.cache
def _pg_available() -> bool:
    try:
        engine = sqlalchemy.create_engine(PG_URL, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not available"
        return False


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once per worker (by `Store.open`, as any other); the
    `store` fixture starts from a copy of it instead of running every migration again."""
    path = tmp_path_factory.mktemp("template") / "monitor.db"
    Store.open(f"sqlite:///{path}").close()
    return path


@dataclass
class PgSchema:
    """A PostgreSQL schema migrated once per worker (by `Store.open`, as any other), emptied
    before each test that uses it: deleting a few rows takes ~0.05 s, creating and migrating
    a schema ~0.5 s."""

    name: str
    admin: sqlalchemy.Engine
    tables: list[sqlalchemy.Table]  # children first
    sequences: list[str]

    @property
    def url(self) -> str:
        return f"{PG_URL}?options=-csearch_path%3D{self.name}"

    def empty(self) -> None:
        """Every table empty (but the migration history), every id sequence back at 1."""
        with self.admin.begin() as conn:
            conn.execute(sqlalchemy.text("SET LOCAL lock_timeout = '10s'"))  # not a hang
            for table in self.tables:
                conn.execute(table.delete())
            for sequence in self.sequences:
                conn.execute(sqlalchemy.text(f'ALTER SEQUENCE "{self.name}"."{sequence}" RESTART'))


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[PgSchema]:
    if not _pg_available():
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{name}"'))
    try:
        schema = PgSchema(name, admin, [], [])
        Store.open(schema.url).close()
        metadata = sqlalchemy.MetaData(schema=name)
        metadata.reflect(admin)
        schema.tables = [t for t in reversed(metadata.sorted_tables) if t.name != "alembic_version"]
        with admin.connect() as conn:
            schema.sequences = list(
                conn.execute(
                    sqlalchemy.text("SELECT sequencename FROM pg_sequences WHERE schemaname = :s"),
                    {"s": name},
                ).scalars()
            )
        yield schema
    finally:
        with admin.begin() as conn:
            conn.execute(sqlalchemy.text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated, empty store on every backend (PostgreSQL where a server answers)."""
    if request.param == "sqlite":
        shutil.copyfile(request.getfixturevalue("sqlite_template"), tmp_path / "monitor.db")
        store = Store.open(f"sqlite:///{tmp_path}/monitor.db")
    else:
        schema: PgSchema = request.getfixturevalue("pg_schema")
        schema.empty()
        store = Store.open(schema.url)
    yield store
    store.close()


def shipped_sources() -> list[SourceOptions]:
    return load_config(CONFIG).sources.sources


def poll(
    sources: list[SourceOptions],
    store: Store,
    settings: Settings,
    *,
    rewrite_to: FixtureServer | None = None,
    dry_run: bool = False,
    rules: RuleSet | None = None,
    baseline: bool = False,
    lean_results: bool = False,
) -> list[PollResult]:
    """One poll cycle, through the loopback server when `rewrite_to` is given.

    The first poll of a source is no baseline here unless asked: the fixtures are from
    2018, and most tests are about what the rules match and alert on.
    """

    async def run() -> list[PollResult]:
        transport = RewriteTransport(rewrite_to.base_url) if rewrite_to else None
        async with Fetcher(settings, transport=transport) as fetcher:
            ctx = PollContext(
                fetcher=fetcher,
                store=store,
                dry_run=dry_run,
                rules=rules,
                baseline=baseline,
                lean_results=lean_results,
            )
            return await run_sources(sources, ctx)

    return asyncio.run(run())


def by_source(results: list[PollResult]) -> dict[str, PollResult]:
    return {r.source_id: r for r in results}
