"""The alerts page (`/alerts`), `GET /api/alerts`, and retrying a dead alert (POST)."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from monitor.alerts.base import safe_link
from monitor.alerts.feedback import feedback_paths
from monitor.store.browse import ALERT_STATUSES, AlertFilter, AlertView, Attempt
from monitor.web.channels import error_text, secrets_of
from monitor.web.params import PER_PAGE, day, page_number, pager, text
from monitor.web.render import iso, page, path_part

SOURCE_PREFIX = "source:"  # an ops alert (monitor.health) is about a source, not a document

VERDICT_LABELS = {"useful": "useful", "not_useful": "not useful"}


def _filter(request: Request) -> AlertFilter:
    zone = request.app.state.settings.timezone
    status = text(request, "status")
    if status is not None and status not in ALERT_STATUSES:
        raise HTTPException(400, f"'status': '{status}' is not one of {', '.join(ALERT_STATUSES)}")
    return AlertFilter(
        rule=text(request, "rule"),
        channel=text(request, "channel"),
        status=status,
        since=day(request, "since", zone),
        until=day(request, "until", zone, end=True),
    )


def _matches(alert: AlertView) -> list[dict[str, Any]]:
    found = alert.payload.get("matches")
    return [m for m in found if isinstance(m, dict)] if isinstance(found, list) else []


def _document(alert: AlertView) -> dict[str, Any]:
    doc = alert.payload.get("document")
    return doc if isinstance(doc, dict) else {}


def _href(alert: AlertView) -> str:
    """The page of what the alert is about: its document, or for an ops alert its source."""
    if alert.document_id.startswith(SOURCE_PREFIX):
        return f"/sources/{path_part(alert.document_id.removeprefix(SOURCE_PREFIX))}"
    return f"/documents/{path_part(alert.document_id)}"


def _redact(found: list[AlertView], secrets: tuple[str, ...]) -> None:
    """Channels' errors as the pages may show them: a webhook URL's path and query can be
    its secret (see monitor.web.channels)."""
    for alert in found:
        alert.last_error = error_text(alert.last_error, secrets)
        alert.history = [
            Attempt(h.attempted_at, h.result, error_text(h.error, secrets)) for h in alert.history
        ]


def alerts(request: Request) -> Response:
    store = request.app.state.store
    chosen = _filter(request)
    number = page_number(request)
    found, total = store.browse.alerts(chosen, (number - 1) * PER_PAGE, PER_PAGE)
    rules, channels = store.browse.alert_choices()
    retried = request.query_params.get("retried", "")
    settings = request.app.state.settings
    verdicts = store.feedback.verdicts([str(a.payload.get("id", "")) for a in found])
    _redact(found, secrets_of(request.app.state.live()))
    context = {
        "section": "alerts",
        "alerts": [
            {
                "alert": a,
                "document": _document(a),
                "link": safe_link(_document(a).get("url")),
                "href": _href(a),
                "rule_name": (a.payload.get("rule") or {}).get("name", ""),
                "matches": _matches(a),
                # "Useful / not useful" (the same signed links as the alert's email).
                "feedback": feedback_paths(settings, a.payload, "web"),
                "verdict": VERDICT_LABELS.get(verdicts.get(str(a.payload.get("id", "")), "")),
            }
            for a in found
        ],
        "filter": chosen,
        "form": {k: request.query_params.get(k, "") for k in ("since", "until")},
        "rules": rules,
        "channels": channels,
        "statuses": ALERT_STATUSES,
        "pager": pager(request, number, total),
        "retried": int(retried) if retried.isdigit() else None,
    }
    return page(request, "alerts.html", context)


def alert_json(alert: AlertView) -> dict[str, Any]:
    document = _document(alert)
    return {
        "id": alert.id,
        "rule": {"id": alert.rule_id, "name": (alert.payload.get("rule") or {}).get("name")},
        "channel": alert.channel,
        "status": alert.status,
        "created_at": iso(alert.created_at),
        "delivered_at": iso(alert.delivered_at),
        "next_attempt_at": iso(alert.next_attempt_at) if alert.status == "pending" else None,
        "requeued_at": iso(alert.requeued_at),
        "attempts": alert.attempts,
        "last_error": alert.last_error,
        "document": {
            "id": alert.document_id,
            "version": alert.version,
            "title": document.get("title"),
            "url": document.get("url"),
            "source_id": document.get("source_id"),
        },
        "matches": [
            {k: m.get(k) for k in ("field", "terms", "snippet", "highlights")}
            for m in _matches(alert)
        ],
        "history": [
            {"at": iso(h.attempted_at), "result": h.result, "error": h.error} for h in alert.history
        ],
    }


def api_alerts(request: Request) -> JSONResponse:
    store = request.app.state.store
    chosen = _filter(request)
    number = page_number(request)
    found, total = store.browse.alerts(chosen, (number - 1) * PER_PAGE, PER_PAGE)
    _redact(found, secrets_of(request.app.state.live()))
    return JSONResponse(
        {
            "alerts": [alert_json(a) for a in found],
            "total": total,
            "page": number,
            "per_page": PER_PAGE,
        }
    )


def retry(request: Request) -> Response:
    """Send a dead alert again at the next delivery run (as `monitor alerts retry ID`);
    the CSRF middleware has checked the form's token."""
    alert_id = request.path_params["alert_id"]
    state = request.app.state
    if not state.store.outbox.requeue(state.clock(), alert_id):
        raise HTTPException(404, f"No undelivered alert with id {alert_id}")
    return RedirectResponse(f"/alerts?retried={alert_id}", status_code=303)
