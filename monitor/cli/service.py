"""`monitor run`, `monitor web` and `monitor db upgrade`."""

from __future__ import annotations

import sys
from pathlib import Path

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

    missing = _missing_sqlite_file(state.settings.database_url)
    if missing is not None:  # opening it would create and migrate an empty database
        click.echo(
            f"Error: no database at {missing} (MONITOR_DATABASE_URL): `monitor web` shows an "
            "existing one; check the path, or run `monitor run` or `monitor once` first.",
            err=True,
        )
        sys.exit(2)
    run_web(state.settings)


def _missing_sqlite_file(database_url: str) -> Path | None:
    """The SQLite file a URL names, if it does not exist (None for other databases)."""
    from sqlalchemy.engine import make_url  # here: other commands start without SQLAlchemy

    url = make_url(database_url)  # valid: Settings checked it
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    path = Path(url.database)
    return None if path.exists() else path.resolve()


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
