"""The `monitor` command: the only place that prints errors and sets exit codes."""

from __future__ import annotations

import asyncio
import difflib
import json
import logging
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from pydantic import ValidationError

from monitor.alerts.feedback import links_off_reason
from monitor.config import Config, load_config
from monitor.errors import ConfigError, MonitorError, StoreError
from monitor.logs import configure as configure_logging
from monitor.rules.learn import LearnStatus, learned
from monitor.rules.matcher import RuleSet, word_frequencies
from monitor.settings import Settings, config_problems, env_file_problems, plain_sqlite_path

# Startup time (issue #13): every command is a fresh process, and `check` or `rules test
# --file` must not pay for SQLAlchemy, the fetcher or the pipeline. Commands that use them
# import them where they do; the store is imported here for its type only.
if TYPE_CHECKING:
    from monitor.store import Store

F = TypeVar("F", bound=Callable[..., Any])
PROGRESS_THRESHOLD = 2000


def _fail(err: MonitorError, code: int = 1) -> None:
    click.echo(str(err), err=True)  # the message names the thing; a class name would not
    sys.exit(code)


def handles_errors(fn: F) -> F:
    """Turn MonitorError into a one-line message and exit 1 (never a traceback)."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MonitorError as err:
            _fail(err)

    return wrapper  # type: ignore[return-value]


def _settings_errors(err: ValidationError) -> list[str]:
    """One line per invalid MONITOR_* setting, named as ops set it."""
    lines = []
    for item in err.errors():
        name = "MONITOR_" + "_".join(str(part) for part in item["loc"]).upper()
        message = str(item["msg"]).removeprefix("Value error, ")
        lines.append(f"{name}: {message}")
    return lines


class State:
    """What every command shares: the settings, and the stores it opened (closed at exit)."""

    def __init__(self, config_dir: Path | None) -> None:
        overrides: dict[str, Any] = {"config_dir": config_dir} if config_dir else {}
        self.settings = Settings(**overrides)
        self._stores: list[Store] = []
        self.learn_statuses: list[LearnStatus] = []  # set where `learn: true` rules train
        self._existing: Store | None = None

    def config(self) -> Config:
        return load_config(self.settings.config_dir)

    def database(self) -> str:
        """The database as a reader recognises it: a SQLite file's path, else the URL."""
        from sqlalchemy.engine import make_url

        url = make_url(self.settings.database_url)
        if url.get_backend_name() == "sqlite" and url.database:
            return url.database
        return url.render_as_string(hide_password=True)

    def existing_store(self) -> Store | None:
        """The database if it exists, unmigrated (none is created for this), else None."""
        if self._existing is not None:
            return self._existing
        if _no_sqlite_file(self.settings.database_url):
            return None  # said without importing SQLAlchemy: `check` starts faster
        from monitor.store import Store

        try:
            from sqlalchemy.engine import make_url

            url = make_url(self.settings.database_url)
            if url.get_backend_name() == "sqlite" and not (
                url.database and url.database != ":memory:" and Path(url.database).exists()
            ):
                return None
            store = Store.open(self.settings.database_url, migrate=False)
        except Exception:  # noqa: BLE001 - what it gives only sharpens messages
            return None
        self._stores.append(store)
        self._existing = store
        return store

    def learned(self, rules: RuleSet) -> RuleSet:
        """The rules with classifiers for `learn: true` (statuses in `learn_statuses`),
        trained on the labelled sets and the votes in the database, if it has any."""
        if not any(rule.learn for rule in rules.rules):
            return rules
        try:
            rules, self.learn_statuses = learned(rules, self.existing_store())
        except StoreError:  # a database from before feedback existed: the sets alone
            rules, self.learn_statuses = learned(rules, None)
        return rules

    def stored_kinds(self) -> list[str]:
        """Kinds of the stored documents, if a database exists (none is created for this)."""
        store = self.existing_store()
        if store is None:
            return []
        try:
            return store.document_kinds()
        except MonitorError:  # an empty or older database: compare with the sources only
            return []

    def check_source(self, store: Store, source_id: str) -> None:
        """Refuse a source id that is neither configured nor among the stored documents."""
        stored = store.document_sources()
        if source_id in stored:
            return
        try:
            configured = [s.id for s in self.config().sources.sources]
        except ConfigError:
            configured = []
        if source_id in configured:
            return
        known = sorted(set(stored) | set(configured))
        close = difflib.get_close_matches(source_id, known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else f" (sources: {', '.join(known)})"
        raise MonitorError(f"No source with id '{source_id}'{hint if known else ''}")

    def store(self) -> Store:
        from monitor.store import Store

        store = Store.open(self.settings.database_url)
        self._stores.append(store)
        return store

    def close(self) -> None:
        """Close every store a command opened (writes batched state, frees the files)."""
        while self._stores:
            self._stores.pop().close()


def _no_sqlite_file(database_url: str) -> bool:
    """Whether the URL plainly names a SQLite file that does not exist (False if unsure)."""
    path = plain_sqlite_path(database_url)
    return path is not None and path != ":memory:" and not Path(path).exists()


@click.group()
@click.option(
    "--config-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Config directory (default: $MONITOR_CONFIG_DIR or ./config).",
)
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Log at MONITOR_LOG_LEVEL (default INFO), not warnings only.",
)
@click.version_option(package_name="monitor")
@click.pass_context
def main(ctx: click.Context, config_dir: Path | None, verbose: bool) -> None:
    """Watch government and news sources for new releases."""
    unreadable = env_file_problems()
    for line in unreadable:
        click.echo(line, err=True)
    if unreadable:
        sys.exit(1)
    try:
        ctx.obj = State(config_dir)
    except ValidationError as err:
        for line in _settings_errors(err):
            click.echo(line, err=True)
        sys.exit(1)
    ctx.call_on_close(ctx.obj.close)  # also when a command exits early or fails
    # MONITOR_LOG_LEVEL rules the servers (`run`, `web`) and -v; other commands print their
    # results and log only warnings and worse, unless the setting asks for less.
    level = ctx.obj.settings.log_level_number
    if not (verbose or ctx.invoked_subcommand in ("run", "web")):
        level = max(level, logging.WARNING)
    configure_logging(ctx.obj.settings.log_format, level)


@main.command()
@click.pass_obj
def check(state: State) -> None:
    """Validate the config files; exit 1 listing every error as file:line (warnings too)."""
    try:
        config = load_config(state.settings.config_dir, known_kinds=state.stored_kinds())
    except ConfigError as err:
        for message in err.messages:
            click.echo(message, err=True)
        sys.exit(1)
    problems = config_problems(state.settings, config)  # what `monitor run` would refuse
    info: list[str] = []
    try:
        info = _info_lines(state, config)
    except ConfigError as err:  # a labelled set a `learn: true` rule trains on is unreadable
        problems += err.messages
    for message in problems:
        click.echo(message, err=True)
    if problems:
        sys.exit(1)
    warnings = list(config.warnings)
    if config.off_warning():
        warnings.append(f"warning: {config.off_warning()}")
    for warning in warnings:
        click.echo(warning, err=True)

    def count(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    note = f" ({count(len(warnings), 'warning')})" if warnings else ""
    off = f" ({len(config.off)} off)" if config.off else ""
    click.echo(
        f"OK: {count(len(config.sources.sources), 'source')}, "
        f"{count(len(config.rules), 'rule')}, {count(len(config.channels), 'channel')}{off} "
        f"in {config.directory}{note}"
    )
    for line in info:
        click.echo(f"info: {line}")


def _info_lines(state: State, config: Config) -> list[str]:
    """What works differently than it could, without being wrong: feedback links that are
    off, and what `learn: true` rules learned (or why they cannot yet)."""
    lines = []
    off = links_off_reason(state.settings)
    if off:
        lines.append(off)
    state.learned(config.rules)
    lines += [status.describe() for status in state.learn_statuses]
    return lines


@main.command()
@click.option("--dry-run", is_flag=True, help="Poll and print; store nothing, send nothing.")
@click.option("--source", "source_ids", multiple=True, metavar="ID", help="Only these sources.")
@click.pass_obj
@handles_errors
def once(state: State, dry_run: bool, source_ids: tuple[str, ...]) -> None:
    """Poll every source once, print new and updated documents, exit (1 if a source failed)."""
    from monitor.fetch import Fetcher
    from monitor.models import PollResult
    from monitor.pipeline import PollContext, run_sources
    from monitor.report import (
        change_lines,
        changes_report,
        deliveries_table,
        matches_report,
        summary_table,
    )

    config = state.config()
    if config.off_warning():
        click.echo(f"warning: {config.off_warning()}", err=True)
    sources = [config.sources.get(i) for i in source_ids] if source_ids else config.sources.sources
    store = state.store()
    rules, _ = learned(
        config.rules.with_frequencies(word_frequencies(store.sample_documents())), store
    )

    async def poll() -> list[PollResult]:
        async with Fetcher(state.settings, hosts=config.sources.host_policies()) as fetcher:
            ctx = PollContext(
                fetcher=fetcher,
                store=store,
                dry_run=dry_run,
                executor=executor,
                rules=rules,
                lean_results=True,  # the report shows titles and links, not texts
            )
            return await run_sources(sources, ctx, on_result=shown)

    # Each poll's lines of the report are rendered as it ends and its documents let go
    # (all but those that matched): 20,000 new documents are 20,000 short lines in memory.
    lines: dict[int, list[str]] = {}

    def shown(result: PollResult) -> None:
        lines[id(result)] = change_lines(result)
        result.keep_only(lambda change: bool(change.matches))

    workers = state.settings.parse_workers
    executor = None
    if workers:
        from concurrent.futures import ProcessPoolExecutor  # ~10 ms of imports: only if asked

        executor = ProcessPoolExecutor(workers)
    try:
        results = asyncio.run(poll())
    finally:
        if executor:
            executor.shutdown()
    from monitor.cli.alerts import deliver_backlog  # a module that imports this one

    backlog = None if dry_run else deliver_backlog(store, config, state.settings)
    deliveries = backlog.deliveries if backlog else []
    click.echo(changes_report([line for r in results for line in lines.get(id(r), [])]))
    click.echo("")
    click.echo(summary_table(results))
    click.echo("")
    click.echo(matches_report(results))
    if deliveries:
        click.echo("")
        click.echo(deliveries_table(deliveries))
    if backlog is not None:
        click.echo(backlog.summary())
    if dry_run:
        click.echo("\n(dry run: nothing was stored, nothing was sent)")
    if any(r.status == "error" for r in results):
        sys.exit(1)


@main.command()
@click.option(
    "--fixtures",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Fixtures directory (default: the repository's fixtures/).",
)
@click.pass_obj
@handles_errors
def demo(state: State, fixtures: Path | None) -> None:
    """Run the shipped config on recorded fixtures over a loopback server, offline."""
    from monitor.demo import default_fixtures_dir, run_demo

    run_demo(state.settings.config_dir, fixtures or default_fixtures_dir(), click.echo)


@main.command()
@click.option("--source", "source_id", metavar="ID", help="Only this source's documents.")
@click.option(
    "--limit", default=20, show_default=True, type=click.IntRange(min=1), help="How many to list."
)
@click.pass_obj
@handles_errors
def documents(state: State, source_id: str | None, limit: int) -> None:
    """List stored documents, newest first by when monitor stored them (STORED)."""
    from monitor.report import documents_table

    store = state.store()
    if source_id:
        state.check_source(store, source_id)
    rows = store.recent_documents(source_id, limit)
    if not rows and source_id:
        click.echo(f"No documents stored from source '{source_id}'.")
    elif not rows:
        click.echo(
            f"No documents stored in {state.database()} yet: `monitor once` polls the sources "
            "(`monitor demo` keeps a database of recorded releases; it says how to use it)."
        )
    else:
        click.echo(documents_table(rows))


MIN_PREFIX = 6


@main.command()
@click.argument("doc_id")
@click.option("--version", "version", type=int, help="An earlier version (default: latest).")
@click.pass_obj
@handles_errors
def show(state: State, doc_id: str, version: int | None) -> None:
    """Print one stored Document as JSON (an id prefix of 6+ characters is enough).

    `monitor rules test RULE --file` reads what this prints.
    """
    if len(doc_id) < MIN_PREFIX:
        raise MonitorError(
            f"'{doc_id}' is too short: give at least {MIN_PREFIX} characters of a document id "
            "(see `monitor documents`)"
        )
    store = state.store()
    ids = [doc_id] if len(doc_id) >= 24 else store.find_ids(doc_id)
    if len(ids) > 1:
        raise MonitorError(f"'{doc_id}' matches several documents: {', '.join(ids)}")
    document = store.document(ids[0], version) if ids else None
    if document is None:
        what = f"version {version} of document" if version else "document"
        raise MonitorError(f"No {what} with id '{doc_id}' (see `monitor documents`)")
    data = document.model_dump(mode="json")
    data["sightings"] = store.sightings_of(document.id)
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


# The other command groups register themselves on `main` when imported.
from monitor.cli import alerts as _alerts  # noqa: E402, F401
from monitor.cli import rules as _rules  # noqa: E402, F401
from monitor.cli import service as _service  # noqa: E402, F401
