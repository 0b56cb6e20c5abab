"""The web app: `create_app` and the route table.

Pages reach what they need through `request.app.state`: `store` (a Store), `settings`,
`live()` (a Live: configured sources and channels, scheduler, next polls), `clock()`
(aware UTC now), `templates`, and `token` (the login token, or None). Page endpoints are
plain functions: Starlette runs them in worker threads, so database reads never stall the
service's loop.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitor.settings import Settings
from monitor.store import Store
from monitor.web import alerts, auth, documents, healthz, overview, source, tryrule
from monitor.web.csrf import CSRFMiddleware
from monitor.web.feedback import feedback_routes
from monitor.web.render import page, templates
from monitor.web.state import Live, LiveState

STATIC = Path(__file__).parent / "static"
# Pages load only this site's own CSS (and scripts, if any): an injected tag does nothing.
HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        b"form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


def routes() -> list[Route | Mount]:
    return [
        Route("/", overview.overview, name="overview"),
        Route("/sources/{source_id:str}", source.source, name="source"),
        Route("/api/sources", overview.api_sources, name="api_sources"),
        Route("/api/sources/{source_id:str}", source.api_source, name="api_source"),
        Route("/api/channels", overview.api_channels, name="api_channels"),
        Route("/alerts", alerts.alerts, name="alerts"),
        Route("/alerts/{alert_id:int}/retry", alerts.retry, methods=["POST"], name="retry"),
        Route("/api/alerts", alerts.api_alerts, name="api_alerts"),
        Route("/documents", documents.documents, name="documents"),
        Route("/documents/{doc_id:str}", documents.document, name="document"),
        Route("/api/documents", documents.api_documents, name="api_documents"),
        Route("/api/documents/{doc_id:str}", documents.api_document, name="api_document"),
        Route("/try", tryrule.try_page, name="try", methods=["GET", "POST"]),
        Route("/api/rules/try", tryrule.api_try, name="api_try"),
        Route("/login", auth.login_form, methods=["GET"], name="login_form"),
        Route("/login", auth.login, methods=["POST"], name="login"),
        Route("/logout", auth.logout, methods=["POST"], name="logout"),
        Route("/healthz", healthz.endpoint, name="healthz"),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]


def create_app(
    settings: Settings,
    store: Store,
    live: LiveState | None = None,
    *,
    metrics: CollectorRegistry | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Starlette:
    """The pages over `store`; `live` gives the running service's state (None in
    `monitor web`: no scheduler), `metrics` the registry /metrics serves (else no /metrics)."""
    token = settings.web_token.get_secret_value() if settings.web_token else None
    now = clock or (lambda: datetime.now(UTC))
    # Where alerts' "useful / not useful" links land (open without login: signed tokens).
    table = routes() + list(feedback_routes(store, settings, clock=now))
    if metrics is not None:
        registry = metrics

        def metrics_endpoint(request: Request) -> Response:
            return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

        table.insert(0, Route("/metrics", metrics_endpoint, name="metrics"))
    app = Starlette(
        routes=table,
        middleware=[
            Middleware(_SecurityHeaders),
            Middleware(
                SessionMiddleware,
                secret_key=auth.session_secret(token),
                session_cookie=auth.COOKIE,
                max_age=auth.SESSION_DAYS * 86400,
                same_site="lax",
            ),
            Middleware(auth.AuthMiddleware),
            Middleware(CSRFMiddleware),
        ],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.settings = settings
    app.state.store = store
    app.state.live = live or (lambda: Live())
    app.state.clock = now
    app.state.token = token
    app.state.templates = templates(settings.timezone)
    return app


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
    return page(
        request,
        "error.html",
        {"section": "", "status": exc.status_code, "message": exc.detail},
        status_code=exc.status_code,
    )


class _SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        # Pages show internal data: no cache (a proxy's, or the browser's after a logout)
        # keeps them, unless a response says otherwise (the static files).
        cached = scope["path"].startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # A header the response sets itself wins (the feedback pages' own policy
                # and no-referrer): two policies would both be enforced.
                own = {k.lower() for k, _ in message.get("headers", [])}
                headers = [*message.get("headers", []), *(h for h in HEADERS if h[0] not in own)]
                if not cached and not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
