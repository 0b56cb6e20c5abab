"""`/feedback/{token}`: the page behind an alert's "useful / not useful" links.

GET only shows what the link would record and a button: mail security scanners fetch
every link of a message, so a GET must change nothing. POST records the vote. The token
is the capability (signed, single-use; see monitor.alerts.feedback), so the pages need no
login (auth.py leaves /feedback/ open). Behind the app's session middleware the form also
carries the session's CSRF token (csrf.py checks every POST); a tiny app without sessions
(the tests) needs none, since a page elsewhere that could forge the POST would need the
link's token, and with it could vote anyway.

`create_app` adds these routes; elsewhere, add `feedback_routes(store, settings)` to an
app's route list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from monitor.alerts.feedback import Verdict, Vote, link_id, make_token, read_token, signing_key
from monitor.settings import Settings
from monitor.store import Store
from monitor.store.feedback import AlertRef, LinkUsed
from monitor.web.csrf import csrf_token

LABELS = {"useful": "useful", "not_useful": "not useful"}
# A capability in the URL: no caching, no referrer, no indexing, no framing, no scripts.
# (Inside create_app these replace the app's own: two policies would both be enforced.)
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self' 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("monitor.web", "templates"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=True),
    undefined=jinja2.StrictUndefined,
)


def _page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = _templates.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def _refused(status: int, heading: str, message: str) -> HTMLResponse:
    return _page("feedback_refused.html", status, heading=heading, message=message)


def feedback_routes(
    store: Store | Callable[[], Store],
    settings: Settings,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[Route]:
    """GET and POST `/feedback/{token}`; `store` is a Store or a function that gives one."""
    key = signing_key(settings)

    def the_store() -> Store:
        return store if isinstance(store, Store) else store()

    def check(token: str) -> tuple[Vote | None, Response | None]:
        """The vote a valid, unused link casts, or the page that refuses it."""
        if key is None:
            return None, _refused(
                404,
                "Feedback links are off",
                "This monitor has no secret to check feedback links with "
                "(MONITOR_FEEDBACK_SECRET).",
            )
        vote = read_token(key, token)
        if vote is None:
            return None, _refused(
                400,
                "This link is not valid",
                "It may have been cut short or changed when it was copied. Open it from the "
                "alert itself; nothing was recorded.",
            )
        return vote, None

    def used_page(when: datetime, verdict: str, other_open: bool) -> Response:
        then = (
            "The other link in the alert can still change the answer."
            if other_open
            else "To change it again: monitor alerts feedback (see the README)."
        )
        return _refused(
            410,
            "This link has been used already",
            f"It recorded “{LABELS.get(verdict, verdict)}” on {when:%d %B %Y at %H:%M} UTC, "
            f"and each link works once. {then}",
        )

    def other_link_open(vote: Vote) -> bool:
        """Whether the alert's other link (the opposite answer) can still vote."""
        assert key is not None
        other: Verdict = "not_useful" if vote.verdict == "useful" else "useful"
        token = make_token(key, replace(vote, verdict=other))
        return the_store().feedback.used(link_id(token)) is None

    def lookup(vote: Vote, token: str) -> tuple[Any, AlertRef | None, Any, bool]:
        s = the_store()
        return (
            s.feedback.used(link_id(token)),
            s.feedback.alert(vote.alert_key),
            s.feedback.verdict(vote.alert_key),
            other_link_open(vote),
        )

    async def show(request: Request) -> Response:
        token = str(request.path_params["token"])
        vote, refused = check(token)
        if refused is not None or vote is None:
            return refused or Response(status_code=500)
        used, alert, current, other_open = await run_in_threadpool(lookup, vote, token)
        if used is not None:
            return used_page(used.at, used.verdict, other_open)
        now = LABELS[current.verdict] if current and current.verdict != vote.verdict else None
        # Behind the app's sessions, the form carries the CSRF token its middleware checks.
        csrf = csrf_token(request) if "session" in request.scope else None
        return _page(
            "feedback.html",
            vote=vote,
            alert=alert,
            label=LABELS[vote.verdict],
            current=now,
            csrf_token=csrf,
        )

    async def record(request: Request) -> Response:
        token = str(request.path_params["token"])
        vote, refused = check(token)
        if refused is not None or vote is None:
            return refused or Response(status_code=500)

        def write() -> tuple[AlertRef | None, Any, bool]:
            s = the_store()
            before = s.feedback.verdict(vote.alert_key)
            s.feedback.record(vote, clock(), link=link_id(token))
            return s.feedback.alert(vote.alert_key), before, other_link_open(vote)

        try:
            alert, before, other_open = await run_in_threadpool(write)
        except LinkUsed:
            used, _, _, other_open = await run_in_threadpool(lookup, vote, token)
            when, verdict = (used.at, used.verdict) if used else (clock(), vote.verdict)
            return used_page(when, verdict, other_open)
        replaced = LABELS[before.verdict] if before and before.verdict != vote.verdict else None
        return _page(
            "feedback_done.html",
            alert=alert,
            label=LABELS[vote.verdict],
            replaced=replaced,
            other_open=other_open,
        )

    return [
        Route("/feedback/{token}", show, methods=["GET"]),
        Route("/feedback/{token}", record, methods=["POST"]),
    ]
