"""Reading the pages' GET parameters (filters, dates, page numbers) and paging links.

A bad value is the reader's typo: it answers 400 with a message that names the parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.exceptions import HTTPException
from starlette.requests import Request

PER_PAGE = 50
MAX_TEXT = 10_000  # characters of a query or filter value (a long rule fits)


def text(request: Request, name: str) -> str | None:
    """A trimmed text parameter; None when absent or blank."""
    value = request.query_params.get(name, "").strip()
    if len(value) > MAX_TEXT:
        raise HTTPException(400, f"'{name}' is too long (at most {MAX_TEXT} characters)")
    return value or None


def day(request: Request, name: str, zone: str, *, end: bool = False) -> datetime | None:
    """A date (YYYY-MM-DD, in MONITOR_TIMEZONE) or an ISO time; with `end`, a date means
    the end of that day (so ?until=2026-12-01 includes the 1st)."""
    value = text(request, name)
    if value is None:
        return None
    tz = ZoneInfo(zone)
    try:
        if len(value) == 10:
            parsed = datetime.combine(date.fromisoformat(value), time(), tz)
            return parsed + timedelta(days=1) if end else parsed
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise HTTPException(
            400, f"'{name}': '{value}' is not a date (use YYYY-MM-DD, e.g. 2026-12-01)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def page_number(request: Request) -> int:
    value = request.query_params.get("page", "1").strip() or "1"
    if not value.isdigit() or int(value) < 1 or len(value) > 9:
        raise HTTPException(400, f"'page': '{value[:20]}' is not a page number (1, 2, …)")
    return int(value)


@dataclass(frozen=True)
class Pager:
    """Where this page stands, and links to its neighbours (filters kept)."""

    page: int
    pages: int
    total: int
    previous: str | None
    next: str | None

    @property
    def offset(self) -> int:
        return (self.page - 1) * PER_PAGE


def pager(request: Request, page: int, total: int) -> Pager:
    pages = max(1, -(-total // PER_PAGE))
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "page" and v]

    def link(number: int) -> str:
        return f"{request.url.path}?{urlencode([*kept, ('page', str(number))])}"

    return Pager(
        page,
        pages,
        total,
        link(page - 1) if page > 1 else None,
        link(page + 1) if page < pages else None,
    )
