"""`monitor alerts` (history, retry) and `monitor channels list` / `test`."""

from __future__ import annotations

import asyncio
import difflib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import click

from monitor.alerts import build_channels
from monitor.alerts.base import ChannelOptions, Outcome, Sent, sample_alert
from monitor.alerts.email import EmailOptions
from monitor.alerts.feedback import Verdict, Vote
from monitor.alerts.webhook import WebhookOptions
from monitor.cli import State, _fail, handles_errors, main
from monitor.config import Config
from monitor.errors import MonitorError
from monitor.report import table
from monitor.settings import Settings

if TYPE_CHECKING:  # the worker and the store import SQLAlchemy: only commands that use them
    from monitor.alerts.worker import Delivery
    from monitor.store import Store

# How long `monitor once` keeps delivering a backlog (200 alerts per claim) before it
# leaves the rest to the next run: a cron job must end before the next one starts.
ONCE_DELIVERY_SECONDS = 300.0


@dataclass
class Backlog:
    """What `monitor once` delivered, and what it left pending."""

    deliveries: list[Delivery] = field(default_factory=list)
    remaining: int = 0
    out_of_time: bool = False

    def summary(self) -> str:
        sent = sum(len(d.alert_ids) for d in self.deliveries if d.status == "delivered")
        line = f"Delivered {sent} alert{'s' if sent != 1 else ''}"
        if not self.remaining:
            return f"{line}; none pending."
        if self.out_of_time:
            return (
                f"{line} in {ONCE_DELIVERY_SECONDS:.0f} s; {self.remaining} still pending: "
                "run `monitor once` again to send the rest."
            )
        return (
            f"{line}; {self.remaining} still pending (retries not due yet, digest windows "
            "still open, or channels that are off or this config does not define)."
        )


def deliver_backlog(store: Store, config: Config, settings: Settings) -> Backlog:
    """Deliver due alerts claim after claim until none is due or ONCE_DELIVERY_SECONDS passed."""
    from monitor.alerts.worker import deliver_due

    backlog = Backlog()
    deadline = time.monotonic() + ONCE_DELIVERY_SECONDS

    async def drain() -> None:
        while True:
            # Fresh channel objects each run: a run closes its channels' connections.
            channels = build_channels(config.channels, settings)
            run = await deliver_due(store, channels, settings, off=config.off)
            backlog.deliveries.extend(run)
            if not run or any(d.status == "deferred" for d in run):
                return  # nothing was due, or a channel hangs: the rest waits for the next run
            if time.monotonic() >= deadline:
                backlog.out_of_time = True
                return

    asyncio.run(drain())
    backlog.remaining = store.outbox.depth()
    return backlog


@main.group(invoke_without_command=True)
@click.option("--failed", is_flag=True, help="Only dead alerts and alerts waiting to retry.")
@click.option("--limit", default=50, show_default=True, help="How many to list.")
@click.pass_context
def alerts(ctx: click.Context, failed: bool, limit: int) -> None:
    """Alert history and delivery state, the alerts queued most recently first.

    `monitor alerts retry` re-queues dead or failing alerts.
    """
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
    """Send a dead or failing alert again at the next delivery run (`monitor once`/`run`).

    Its give-up age (MONITOR_DELIVERY_GIVE_UP_AFTER) starts again now.
    """
    if (alert_id is None) == (not all_dead):
        raise MonitorError("give an alert ID or --all-dead (one of them)")
    count = state.store().outbox.requeue(datetime.now(UTC), alert_id, all_dead)
    if alert_id is not None and not count:
        raise MonitorError(f"No undelivered alert with id {alert_id} (see `monitor alerts`)")
    click.echo(f"Re-queued {count} alert{'s' if count != 1 else ''}.")


@main.group()
def channels() -> None:
    """Alert channels from channels.yaml."""


def _destination(options: ChannelOptions) -> str:
    """Where a channel sends, without secrets: a webhook URL's path often is one."""
    if isinstance(options, WebhookOptions):
        url = urlsplit(options.url)
        return f"{url.scheme}://{url.netloc}/… ({options.format})"
    if isinstance(options, EmailOptions):
        cc = f"; cc {', '.join(options.cc)}" if options.cc else ""
        digest = f"; digest every {options.digest}" if options.digest else ""
        return f"{', '.join(options.to)}{cc}{digest}"
    return "-"


@channels.command("list")
@click.pass_obj
@handles_errors
def channels_list(state: State) -> None:
    """Show every channel, where it sends, and the rules that notify it."""
    config = state.config()
    if not config.channels and not config.off:
        click.echo(f"No channels in {config.directory / 'channels.yaml'}.")
        return

    def rules_of(name: str) -> str:
        return ", ".join(r.id for r in config.rules.rules if name in r.notify) or "-"

    rows = [
        [name, options.type, _destination(options), rules_of(name)]
        for name, options in config.channels.items()
    ]
    rows += [  # optional channels whose variables are unset: listed, with what to set
        [name, "off", f"until {' and '.join(names)} is set", rules_of(name)]
        for name, names in config.off.items()
    ]
    rows.sort()
    click.echo(table(["CHANNEL", "TYPE", "SENDS TO", "RULES"], rows, [None, None, None]))


@channels.command("test")
@click.argument("name")
@click.pass_obj
@handles_errors
def channels_test(state: State, name: str) -> None:
    """Send a test alert through one channel now (not through the outbox)."""
    config = state.config()
    if name in config.off:
        raise MonitorError(
            f"Channel '{name}' is off until {' and '.join(config.off[name])} is set "
            "(in the environment or .env)"
        )
    if name not in config.channels:
        names = sorted([*config.channels, *(f"{off} (off)" for off in config.off)])
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        known = (
            f"; channels: {', '.join(names)} (see `monitor channels list`)"
            if names
            else f"; {config.directory / 'channels.yaml'} defines none"
        )
        raise MonitorError(f"No channel named '{name}'{hint}{known}")
    channel = build_channels({name: config.channels[name]}, state.settings)[name]

    async def send_test() -> Outcome:
        try:
            return await channel.send([sample_alert(name)])
        finally:
            await channel.aclose()  # its connections belong to this one event loop

    outcome = asyncio.run(send_test())
    if isinstance(outcome, Sent):
        click.echo(f"Sent a test alert through '{name}' ({outcome.detail}).")
        return
    raise MonitorError(f"test alert through '{name}' failed: {outcome.error}")


@alerts.command("feedback")
@click.argument("alert")
@click.argument("verdict", type=click.Choice(["useful", "not-useful"]))
@click.pass_obj
@handles_errors
def alerts_feedback(state: State, alert: str, verdict: str) -> None:
    """Record whether an alert was useful (as its email's links do), for `learn: true` rules.

    ALERT is its ID in `monitor alerts`, or its key (an email's Message-ID, a webhook's
    Idempotency-Key; 8+ characters are enough). A later vote replaces an earlier one.
    """
    store = state.store()
    found = store.feedback.alert(alert.strip().strip("<>").split("@")[0])
    if found is None:
        raise MonitorError(
            f"No alert '{alert}' (give its ID from `monitor alerts`, or 8+ characters of its key)"
        )
    vote = Vote(found.key, found.rule_id, found.document_id, VERDICT_OF[verdict], "cli")
    before = store.feedback.verdict(found.key)
    store.feedback.record(vote, datetime.now(UTC))
    was = f" (was {before.verdict.replace('_', ' ')})" if before else ""
    click.echo(
        f"Recorded: alert {found.id} [{found.rule_id}] {found.title} — "
        f"{verdict.replace('-', ' ')}{was}."
    )


VERDICT_OF: dict[str, Verdict] = {"useful": "useful", "not-useful": "not_useful"}
