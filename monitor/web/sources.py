"""Sources' status as the pages and /api/sources show it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.store import SourceState, Store
from monitor.web.render import iso
from monitor.web.state import Live

STATUSES = ("ok", "failing", "empty", "never_polled")


@dataclass(frozen=True)
class SourceRow:
    """One source on the overview: its state, and what the scheduler plans."""

    id: str
    status: str  # one of STATUSES
    configured: bool
    last_poll: datetime | None = None
    last_success: datetime | None = None
    consecutive_failures: int = 0
    last_error: str | None = None
    items: int | None = None  # items the last successful poll listed
    failing_since: datetime | None = None
    next_poll: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "configured": self.configured,
            "last_poll": iso(self.last_poll),
            "last_success": iso(self.last_success),
            "consecutive_failures": self.consecutive_failures,
            "last_error": self.last_error,
            "items": self.items,
            "failing_since": iso(self.failing_since),
            "next_poll": iso(self.next_poll),
        }


def status(state: SourceState | None) -> str:
    if state is None or state.last_polled_at is None:
        return "never_polled"
    if state.consecutive_failures > 0:
        return "failing"
    if state.last_item_count == 0:
        return "empty"
    return "ok"


def source_rows(store: Store, live: Live) -> list[SourceRow]:
    """Configured sources in config order, then sources known only from the database."""
    states = store.source_states(flush=False)
    since = store.polls.failing_since([k for k, v in states.items() if status(v) == "failing"])
    configured = set(live.sources)
    ids = list(live.sources) + sorted(set(states) - configured)
    return [row(s, states.get(s), live, since, s in configured or not configured) for s in ids]


def row(
    source_id: str,
    state: SourceState | None,
    live: Live,
    since: dict[str, datetime],
    configured: bool,
) -> SourceRow:
    found = status(state)
    if state is None:
        return SourceRow(source_id, found, configured, next_poll=live.next_polls.get(source_id))
    return SourceRow(
        id=source_id,
        status=found,
        configured=configured,
        last_poll=state.last_polled_at,
        last_success=state.last_success_at,
        consecutive_failures=state.consecutive_failures,
        last_error=state.last_error,
        items=state.last_item_count,
        failing_since=since.get(source_id) if found == "failing" else None,
        next_poll=live.next_polls.get(source_id),
    )
