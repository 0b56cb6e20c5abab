"""One source's page (`/sources/{id}`): its last polls and newest documents; and its JSON."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from monitor.store.polls import POLLS_KEPT, PollRecord
from monitor.web.render import iso, page
from monitor.web.sources import SourceRow, row, status
from monitor.web.state import Live

DOCUMENTS_SHOWN = 50


def _row(request: Request, source_id: str) -> tuple[SourceRow, Live]:
    store, live = request.app.state.store, request.app.state.live()
    state = store.source_states(flush=False, source_id=source_id).get(source_id)
    if state is None and source_id not in live.sources:
        raise HTTPException(404, f"No source with id '{source_id}'")
    since = store.polls.failing_since([source_id]) if status(state) == "failing" else {}
    configured = source_id in live.sources or not live.sources
    return row(source_id, state, live, since, configured), live


def source(request: Request) -> Response:
    source_id = request.path_params["source_id"]
    found, _ = _row(request, source_id)
    store = request.app.state.store
    context = {
        "section": "overview",
        "source": found,
        "polls": store.polls.recent(source_id, POLLS_KEPT),
        "documents": store.recent_documents(source_id, limit=DOCUMENTS_SHOWN),
    }
    return page(request, "source.html", context)


def poll_json(poll: PollRecord) -> dict[str, Any]:
    return {
        "started_at": iso(poll.started_at),
        "status": poll.status,
        "duration": poll.duration,
        "http_status": poll.http_status,
        "new": poll.new,
        "updated": poll.updated,
        "unchanged": poll.unchanged,
        "items": poll.item_count,
        "error": poll.error,
    }


def api_source(request: Request) -> JSONResponse:
    source_id = request.path_params["source_id"]
    found, _ = _row(request, source_id)
    polls = request.app.state.store.polls.recent(source_id, POLLS_KEPT)
    return JSONResponse({**found.to_json(), "polls": [poll_json(p) for p in polls]})
