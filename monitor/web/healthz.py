"""/healthz: 503 with the reason when the database or the scheduler is down; 200 "degraded"
listing the failing sources and the failing or backlogged channels when there are any; 200
"ok" otherwise. Always open (no login)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse

from monitor.errors import StoreError
from monitor.settings import Settings
from monitor.store import Store
from monitor.store.access import db_reason
from monitor.web.channels import UNHEALTHY, channel_rows
from monitor.web.state import Live


def health(
    store: Store, live: Live, settings: Settings | None = None, now: datetime | None = None
) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body); channels are checked when `settings` are given (their
    delivery timeout sets how long an alert may wait)."""
    if live.scheduler is False:
        return 503, {"status": "unhealthy", "reason": "scheduler is not running"}
    try:
        with store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        states = store.source_states(flush=False)
        channels = []
        if settings is not None:
            rows = channel_rows(store, live, settings, now or datetime.now(UTC))
            channels = [r for r in rows if r.configured and r.status in UNHEALTHY]
    except SQLAlchemyError as err:
        return 503, {"status": "unhealthy", "reason": f"database: {db_reason(err)}"}
    except StoreError as err:
        return 503, {"status": "unhealthy", "reason": f"database: {err}"}
    configured = live.sources or tuple(states)
    failing = [s for s in configured if s in states and states[s].consecutive_failures > 0]
    body: dict[str, Any] = {"status": "degraded" if failing or channels else "ok"}
    body["sources"] = len(configured)
    if live.rules is not None:
        body["rules"] = live.rules
    if failing:
        body["failing"] = failing
    if channels:
        body["channels"] = [{"name": r.name, "status": r.status} for r in channels]
    return 200, body


def endpoint(request: Request) -> JSONResponse:
    # A plain function: Starlette runs it in a worker thread, off the service's event loop.
    state = request.app.state
    status, body = health(state.store, state.live(), state.settings, state.clock())
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})
