"""The `monitor` command: the only place that prints errors and sets exit codes."""

from __future__ import annotations

import asyncio
import difflib
import json
import logging
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from monitor.alerts import build_channels
from monitor.alerts.base import Sent, sample_alert
from monitor.alerts.worker import deliver_due
from monitor.config import Config, load_config
from monitor.documents_io import documents_from_file
from monitor.errors import ConfigError, MonitorError
from monitor.fetch import Fetcher
from monitor.logs import configure as configure_logging
from monitor.models import Document
from monitor.pipeline import PollContext, run_sources
from monitor.report import (
    changes_table,
    deliveries_table,
    documents_table,
    matches_report,
    summary_table,
    table,
)
from monitor.rules import Rule, RuleSet, parse_query
from monitor.rules.matcher import word_frequencies
from monitor.settings import Settings
from monitor.sources.base import parse_interval
from monitor.store import Store

F = TypeVar("F", bound=Callable[..., Any])
PROGRESS_THRESHOLD = 2000


def _fail(err: MonitorError, code: int = 1) -> None:
    click.echo(f"{type(err).__name__}: {err}", err=True)
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


class State:
    def __init__(self, config_dir: Path | None) -> None:
        overrides: dict[str, Any] = {"config_dir": config_dir} if config_dir else {}
        self.settings = Settings(**overrides)

    def config(self) -> Config:
        return load_config(self.settings.config_dir)

    def store(self) -> Store:
        return Store.open(self.settings.database_url)


@click.group()
@click.option(
    "--config-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Config directory (default: $MONITOR_CONFIG_DIR or ./config).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
@click.version_option(package_name="monitor")
@click.pass_context
def main(ctx: click.Context, config_dir: Path | None, verbose: bool) -> None:
    """Watch government and news sources for new releases."""
    ctx.obj = State(config_dir)
    level = logging.INFO if verbose or ctx.invoked_subcommand == "run" else logging.WARNING
    configure_logging(ctx.obj.settings.log_format, level)


@main.command()
@click.pass_obj
def check(state: State) -> None:
    """Validate the config files; exit 1 listing every error as file:line."""
    try:
        config = state.config()
    except ConfigError as err:
        for message in err.messages:
            click.echo(message, err=True)
        sys.exit(1)
    sources, rules_count = len(config.sources.sources), len(config.rules)
    click.echo(
        f"OK: {sources} sources, {rules_count} rules, {len(config.channels)} channels "
        f"in {config.directory}"
    )


@main.command()
@click.option("--dry-run", is_flag=True, help="Poll and print; store nothing, send nothing.")
@click.option("--source", "source_ids", multiple=True, metavar="ID", help="Only these sources.")
@click.pass_obj
@handles_errors
def once(state: State, dry_run: bool, source_ids: tuple[str, ...]) -> None:
    """Poll every source once, print new and updated documents, exit (1 if a source failed)."""
    config = state.config()
    sources = [config.sources.get(i) for i in source_ids] if source_ids else config.sources.sources
    store = state.store()

    async def poll() -> list[Any]:
        async with Fetcher(state.settings) as fetcher:
            ctx = PollContext(
                fetcher=fetcher,
                store=store,
                dry_run=dry_run,
                executor=executor,
                rules=config.rules.with_frequencies(word_frequencies(store.sample_documents())),
            )
            return await run_sources(sources, ctx)

    workers = state.settings.parse_workers
    executor = ProcessPoolExecutor(workers) if workers else None
    try:
        results = asyncio.run(poll())
    finally:
        if executor:
            executor.shutdown()
    deliveries = (
        []
        if dry_run
        else asyncio.run(
            deliver_due(store, build_channels(config.channels, state.settings), state.settings)
        )
    )
    store.close()
    click.echo(changes_table(results))
    click.echo("")
    click.echo(summary_table(results))
    click.echo("")
    click.echo(matches_report(results))
    if deliveries:
        click.echo("")
        click.echo(deliveries_table(deliveries))
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
@click.option("--limit", default=20, show_default=True, help="How many to list.")
@click.pass_obj
@handles_errors
def documents(state: State, source_id: str | None, limit: int) -> None:
    """List stored documents, newest first."""
    store = state.store()
    click.echo(documents_table(store.recent_documents(source_id, limit)))


@main.command()
@click.argument("doc_id")
@click.option("--version", "version", type=int, help="An earlier version (default: latest).")
@click.pass_obj
@handles_errors
def show(state: State, doc_id: str, version: int | None) -> None:
    """Print one stored Document as JSON (an id prefix of 6+ characters is enough)."""
    store = state.store()
    ids = [doc_id] if len(doc_id) >= 24 else store.find_ids(doc_id) if len(doc_id) >= 6 else []
    if len(ids) > 1:
        raise MonitorError(f"'{doc_id}' matches several documents: {', '.join(ids)}")
    document = store.document(ids[0], version) if ids else None
    if document is None:
        what = f"version {version} of document" if version else "document"
        raise MonitorError(f"No {what} with id '{doc_id}' (see `monitor documents`)")
    data = document.model_dump(mode="json")
    data["sightings"] = store.sightings_of(document.id)
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@main.group()
def rules() -> None:
    """List watch rules, or test one against stored documents or a file."""


@rules.command("list")
@click.pass_obj
@handles_errors
def rules_list(state: State) -> None:
    """Show every rule with its filters and where its alerts go."""
    config = state.config()
    if not len(config.rules):
        click.echo(f"No rules in {config.directory / 'rules.yaml'}.")
        return
    rows = [
        [
            rule.id,
            ", ".join(rule.notify) or "-",
            "; ".join(
                part
                for part in (
                    f"sources {', '.join(rule.sources)}" if rule.sources else "",
                    f"kinds {', '.join(rule.kinds)}" if rule.kinds else "",
                )
                if part
            )
            or "all documents",
            f"{rule.name}: {' '.join(rule.query.split())}",
        ]
        for rule in config.rules.rules
    ]
    click.echo(table(["RULE", "NOTIFY", "APPLIES TO", "NAME: QUERY"], rows, [18, 28, 18]))


def _parse_age(text: str) -> timedelta:
    try:
        seconds = parse_interval(text) if text[-1:] != "d" else int(text[:-1]) * 86400
    except (ValueError, IndexError):
        raise click.BadParameter(f"'{text}' is not an age; use e.g. 12h, 30d") from None
    return timedelta(seconds=seconds)


@rules.command("test")
@click.argument("rule_id", required=False)
@click.option("--query", "query_text", metavar="Q", help="Test this query instead of a rule.")
@click.option("--since", metavar="AGE", help="Only documents published in the last AGE (30d).")
@click.option("--source", "source_id", metavar="ID", help="Only this source's documents.")
@click.option(
    "--file",
    "file_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Test against a file (.xml/.rss/.atom feed, .html page, .txt/.md, .json).",
)
@click.pass_obj
def rules_test(
    state: State,
    rule_id: str | None,
    query_text: str | None,
    since: str | None,
    source_id: str | None,
    file_path: Path | None,
) -> None:
    """Which documents a rule matches, with the sentence; exit 0 if any, 1 if none, 2 on error."""
    try:
        count = _rules_test(state, rule_id, query_text, since, source_id, file_path)
    except MonitorError as err:
        click.echo(f"{type(err).__name__}: {err}", err=True)
        sys.exit(2)
    click.echo(f"\n{count} matching document{'s' if count != 1 else ''}.")
    sys.exit(0 if count else 1)


def _rules_test(
    state: State,
    rule_id: str | None,
    query_text: str | None,
    since: str | None,
    source_id: str | None,
    file_path: Path | None,
) -> int:
    if bool(rule_id) == bool(query_text):
        raise MonitorError("give a RULE_ID or --query 'Q' (one of them)")
    config = state.config()
    if query_text:
        rule = Rule(
            id="query",
            name="--query",
            query=query_text,
            ast=parse_query(query_text, config.rules.lists),
        )
    else:
        found = config.rules.get(rule_id or "")
        if found is None:
            ids = [r.id for r in config.rules.rules]
            close = difflib.get_close_matches(rule_id or "", ids, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"No rule with id '{rule_id}'{hint}")
        rule = found
    ruleset = RuleSet([rule], config.rules.lists)
    if file_path is not None:
        docs: Iterable[Document] = documents_from_file(file_path)
        total = None
    else:
        store = state.store()
        cutoff = datetime.now(UTC) - _parse_age(since) if since else None
        total = store.count_documents(cutoff, source_id)
        docs = store.iter_documents(cutoff, source_id)
    bold = sys.stdout.isatty()
    count = 0

    def show(doc: Document) -> None:
        nonlocal count
        matches = ruleset.match(doc)
        if not matches:
            return
        count += 1
        m = matches[0]
        marked = m.marked("\033[1m", "\033[0m") if bold else m.marked()
        when = doc.published_at.strftime("%Y-%m-%d %H:%M UTC") if doc.published_at else "-"
        click.echo(
            f"{doc.title}\n  {doc.source_id} · {doc.kind or '-'} · {when} · {doc.url}\n"
            f"  {m.field}: {marked}\n"
        )

    if total is not None and total > PROGRESS_THRESHOLD:
        with click.progressbar(docs, length=total, label="Testing", file=sys.stderr) as bar:
            for doc in bar:
                show(doc)
    else:
        for doc in docs:
            show(doc)
    return count


@main.group(invoke_without_command=True)
@click.option("--failed", is_flag=True, help="Only dead alerts and alerts waiting to retry.")
@click.option("--limit", default=50, show_default=True, help="How many to list.")
@click.pass_context
def alerts(ctx: click.Context, failed: bool, limit: int) -> None:
    """Alert history and delivery state (newest first); `alerts retry` re-queues."""
    if ctx.invoked_subcommand is not None:
        return
    state: State = ctx.obj
    try:
        rows = state.store().outbox.rows(failed=failed, limit=limit)
    except MonitorError as err:
        _fail(err)
    if not rows:
        click.echo("No failed alerts." if failed else "No alerts yet.")
        return
    body = [
        [
            str(r.id),
            r.status,
            str(r.attempts),
            r.channel,
            r.created_at.strftime("%Y-%m-%d %H:%M"),
            f"[{r.rule_id}] {r.title}" + (f" — {r.last_error}" if r.last_error else ""),
        ]
        for r in rows
    ]
    click.echo(
        table(
            ["ID", "STATUS", "TRIES", "CHANNEL", "CREATED (UTC)", "ALERT"], body, [6, 10, 5, 14, 16]
        )
    )


@alerts.command("retry")
@click.argument("alert_id", required=False, type=int)
@click.option("--all-dead", is_flag=True, help="Re-queue every dead alert.")
@click.pass_obj
@handles_errors
def alerts_retry(state: State, alert_id: int | None, all_dead: bool) -> None:
    """Send a dead or failing alert again at the next delivery run (`monitor once`/`run`)."""
    if (alert_id is None) == (not all_dead):
        raise MonitorError("give an alert ID or --all-dead (one of them)")
    count = state.store().outbox.requeue(datetime.now(UTC), alert_id, all_dead)
    if alert_id is not None and not count:
        raise MonitorError(f"No undelivered alert with id {alert_id} (see `monitor alerts`)")
    click.echo(f"Re-queued {count} alert{'s' if count != 1 else ''}.")


@main.group()
def channels() -> None:
    """Alert channels from channels.yaml."""


@channels.command("test")
@click.argument("name")
@click.pass_obj
@handles_errors
def channels_test(state: State, name: str) -> None:
    """Send a test alert through one channel now (not through the outbox)."""
    config = state.config()
    if name not in config.channels:
        close = difflib.get_close_matches(name, sorted(config.channels), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(f"No channel named '{name}'{hint}")
    channel = build_channels({name: config.channels[name]}, state.settings)[name]
    outcome = asyncio.run(channel.send([sample_alert(name)]))
    if isinstance(outcome, Sent):
        click.echo(f"Sent a test alert through '{name}' ({outcome.detail}).")
        return
    raise MonitorError(f"test alert through '{name}' failed: {outcome.error}")


@main.command()
@click.pass_obj
@handles_errors
def run(state: State) -> None:
    """Run the service: scheduled polls, delivery, hot reload, /healthz and /metrics."""
    from monitor.service import run_service

    run_service(state.settings)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.pass_obj
@handles_errors
def db_upgrade(state: State) -> None:
    """Apply pending migrations (the service also does this when it starts)."""
    store = state.store()
    click.echo(f"Database at revision {store.revision()}.")
