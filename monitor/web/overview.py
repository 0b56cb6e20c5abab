"""The overview page (`/`), `GET /api/sources` and `GET /api/channels`."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from monitor.web.channels import FAILING_AFTER, channel_rows
from monitor.web.render import page
from monitor.web.sources import source_rows


def _day_and_week(now: datetime, zone: str) -> tuple[datetime, datetime]:
    """Local midnight today and on this week's Monday (MONITOR_TIMEZONE)."""
    local = now.astimezone(ZoneInfo(zone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight, midnight - timedelta(days=local.weekday())


def overview(request: Request) -> Response:
    # Plain (sync) endpoints: Starlette runs them in worker threads, off the event loop.
    state = request.app.state
    store, live = state.store, state.live()
    now = state.clock()
    today, week = _day_and_week(now, state.settings.timezone)
    context = {
        "section": "overview",
        "sources": source_rows(store, live),
        "channels": channel_rows(store, live, state.settings, now),
        "failing_after": FAILING_AFTER,
        "live": live,
        "today": store.polls.activity(today),
        "week": store.polls.activity(week),
        "outbox_depth": store.outbox.depth(),
        "dead_alerts": store.polls.dead_alerts(),
    }
    return page(request, "overview.html", context)


def api_sources(request: Request) -> JSONResponse:
    state = request.app.state
    return JSONResponse([r.to_json() for r in source_rows(state.store, state.live())])


def api_channels(request: Request) -> JSONResponse:
    state = request.app.state
    rows = channel_rows(state.store, state.live(), state.settings, state.clock())
    return JSONResponse([r.to_json() for r in rows])
