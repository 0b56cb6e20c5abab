"""`monitor demo`: the shipped config run against recorded fixtures on a loopback server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from monitor.alerts import build_channels
from monitor.alerts.filesink import file_transports
from monitor.alerts.worker import Delivery, deliver_due
from monitor.config import load_config
from monitor.fetch import Fetcher
from monitor.fixture_server import FixtureServer, RewriteTransport, load_url_map
from monitor.models import PollResult
from monitor.pipeline import PollContext, run_sources
from monitor.report import changes_table, deliveries_table, matches_report, summary_table
from monitor.settings import Settings
from monitor.store import Store


def default_fixtures_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "fixtures"


async def _cycle(config_dir: Path, ctx: PollContext) -> list[PollResult]:
    config = load_config(config_dir, examples=True)  # the channels write to files
    ctx.rules = config.rules
    return await run_sources(config.sources.sources, ctx)


def run_demo(
    config_dir: Path,
    fixtures_dir: Path,
    echo: Callable[[str], None] = print,
    out_dir: Path = Path("data/demo"),
) -> int:
    """Two poll cycles over the fixtures; returns documents stored.

    Alerts are written to `out_dir` instead of being sent, and the database is kept there
    (`monitor.db`, replaced at each run) so that rules can be tried on what was stored.
    """
    config = load_config(config_dir, examples=True)  # the channels write to files
    routes = load_url_map(fixtures_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    database = out_dir / "monitor.db"
    for stale in (database, *(database.with_name(database.name + x) for x in ("-wal", "-shm"))):
        stale.unlink(missing_ok=True)  # each demo starts from an empty database
    with FixtureServer(routes) as server:
        settings = Settings(
            database_url=f"sqlite:///{database}",
            host_delay=0.0,
            fetch_attempts=1,
            config_dir=config_dir,
        )
        store = Store.open(settings.database_url)
        echo(f"Serving {len(routes)} recorded responses from {fixtures_dir} at {server.base_url}")
        echo(
            f"Polling {len(config.sources.sources)} sources from {config_dir / 'sources.yaml'} "
            f"into {database}\n"
        )

        channels = build_channels(config.channels, settings, **file_transports(out_dir))

        async def both_cycles() -> tuple[list[PollResult], list[PollResult], list[Delivery]]:
            fetcher = Fetcher(settings, transport=RewriteTransport(server.base_url))
            async with fetcher:
                # The recorded releases are from 2018: a baseline would store them without
                # alerting; the demo shows what the rules alert on instead.
                ctx = PollContext(fetcher=fetcher, store=store, baseline=False)
                first = await _cycle(config_dir, ctx)
                sent = await deliver_due(store, channels, settings)
                return first, await _cycle(config_dir, ctx), sent

        try:
            first, second, sent = asyncio.run(both_cycles())
            count = store.count_documents()
        finally:
            store.close()
    echo("== First poll ==")
    echo(changes_table(first))
    echo("")
    echo(summary_table(first))
    echo(f"\n== Rule matches ({len(config.rules)} rules in {config_dir / 'rules.yaml'}) ==")
    echo(matches_report(first))
    echo(f"\n== Alerts delivered ({len(sent)}), written to {out_dir}/ instead of sent ==")
    echo(deliveries_table(sent))
    echo("\n== Second poll (nothing changed: conditional GETs answered 304) ==")
    echo(summary_table(second))
    echo(
        f"\n{count} documents stored in {database} (the next `monitor demo` replaces it).\n"
        "Try rules on them from this folder (your own database, which `monitor once` "
        "fills, is not touched):\n"
        f"  export MONITOR_DATABASE_URL=sqlite:///{database}\n"
        "  monitor rules test biegun\n"
        "  monitor rules test --query '\"Special Representative\" NEAR/5 Korea'\n"
        "  monitor documents\n"
        "  monitor web                  # the web pages on http://127.0.0.1:8080/\n"
        "  unset MONITOR_DATABASE_URL   # back to your own database"
    )
    return count
