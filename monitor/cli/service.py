"""`monitor run`, `monitor web` and `monitor db upgrade`."""

from __future__ import annotations

import click

from monitor.cli import State, handles_errors, main


@main.command()
@click.pass_obj
@handles_errors
def run(state: State) -> None:
    """Run the service: scheduled polls, delivery, hot reload, /healthz and /metrics."""
    from monitor.service import run_service

    run_service(state.settings)


@main.command()
@click.pass_obj
@handles_errors
def web(state: State) -> None:
    """Serve the web pages alone against the configured database (no polling), on
    MONITOR_HTTP_HOST:MONITOR_HTTP_PORT: for looking at a copy, or beside replicas."""
    from monitor.web.serve import run_web

    run_web(state.settings)


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
