"""Templates (Jinja2, autoescaped: scraped text is hostile) and the filters pages use."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from monitor.web.csrf import csrf_token
from monitor.web.highlight import marked

# (path, label, section): the nav bar; `section` is what a page passes to mark itself.
NAV = (
    ("/", "Overview", "overview"),
    ("/alerts", "Alerts", "alerts"),
    ("/documents", "Documents", "documents"),
    ("/try", "Try a rule", "try"),
)


def _common(request: Request) -> dict[str, Any]:
    auth = request.app.state.token is not None
    return {
        "nav": NAV,
        "csrf_token": csrf_token(request),
        "login_required": auth,
        "logged_in": auth and bool(request.session.get("auth")),
    }


def templates(zone: str) -> Jinja2Templates:
    """The package's templates, with times shown in `zone` (MONITOR_TIMEZONE)."""
    tz = ZoneInfo(zone)
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("monitor.web", "templates"),
        autoescape=True,  # every template, whatever its file name
        undefined=jinja2.StrictUndefined,  # a misspelt name fails the test, not the reader
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = lambda value: when(value, tz)
    env.filters["iso"] = iso
    env.filters["seconds"] = seconds
    env.filters["marked"] = marked  # a snippet with its highlights, escaped piece by piece
    return Jinja2Templates(env=env, context_processors=[_common])


def when(value: datetime | None, tz: ZoneInfo) -> str:
    """'2026-12-01 14:05' in the configured zone; '' for none."""
    if value is None:
        return ""
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z (JSON and <time datetime=...>); None for none."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def seconds(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.2f} s" if value < 10 else f"{value:.0f} s"


def page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    """Render a template of the package for this request."""
    tmpl: Jinja2Templates = request.app.state.templates
    return tmpl.TemplateResponse(request, name, context, status_code=status_code)
