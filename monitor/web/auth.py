"""Login with MONITOR_WEB_TOKEN: a form posting the token, then a signed session cookie.

Without a token the pages are open, and may then only listen on loopback
(`check_exposure`). /healthz, /metrics, /login, /static and /feedback/<signed token> stay
open either way.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import quote

from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from monitor.errors import MonitorError
from monitor.settings import Settings, exposure_problem
from monitor.web.render import page

OPEN_PATHS = frozenset({"/healthz", "/metrics", "/login", "/favicon.ico"})
COOKIE = "monitor_session"
SESSION_DAYS = 7


def check_exposure(settings: Settings) -> None:
    """Refuse to serve the pages beyond this machine without a login, or with a weak one."""
    problem = exposure_problem(settings)
    if problem:
        raise MonitorError(problem)


def session_secret(token: str | None) -> str:
    """The cookie-signing key: from the token (sessions survive a restart and end when the
    token changes), else random (no login: the session only carries the CSRF token)."""
    if not token:
        return secrets.token_hex(32)
    return hmac.new(token.encode(), b"monitor web session", hashlib.sha256).hexdigest()


def logged_in(conn: HTTPConnection) -> bool:
    return conn.app.state.token is None or conn.session.get("auth") is True


class AuthMiddleware:
    """With a token set: pages redirect to /login, /api answers 401, until logged in."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        path = conn.url.path
        # /feedback/<token>: an alert's link is its own capability (see web/feedback.py).
        if logged_in(conn) or path in OPEN_PATHS or path.startswith(("/static/", "/feedback/")):
            await self.app(scope, receive, send)
            return
        response: Response
        if path.startswith("/api/") or path == "/api":
            response = JSONResponse({"error": "login required"}, status_code=401)
        else:
            target = path + (f"?{conn.url.query}" if conn.url.query else "")
            response = RedirectResponse(f"/login?next={quote(target, safe='')}", 303)
        await response(scope, receive, send)


def _next(value: object) -> str:
    """Where to go after logging in: a path of this site only (no open redirect)."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return "/"


async def login_form(request: Request) -> Response:
    if request.app.state.token is None:
        return RedirectResponse("/", 303)
    return page(request, "login.html", {"next": _next(request.query_params.get("next"))})


async def login(request: Request) -> Response:
    token: str | None = request.app.state.token
    if token is None:
        return RedirectResponse("/", 303)
    form = await request.form()
    given = form.get("token")
    target = _next(form.get("next"))
    if isinstance(given, str) and hmac.compare_digest(given.encode(), token.encode()):
        request.session.clear()  # a fresh session (and CSRF token) for the logged-in user
        request.session["auth"] = True
        return RedirectResponse(target, 303)
    return page(request, "login.html", {"next": target, "error": "Wrong token."}, status_code=401)


async def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login" if request.app.state.token else "/", 303)
