"""CSRF: every POST (and other unsafe method) must carry the session's token.

Forms send it as the hidden field `csrf_token` (templates get `csrf_token`), scripts as the
`X-CSRF-Token` header. The check is a middleware, so a page added later cannot forget it.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import HTTPConnection, Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FIELD = "csrf_token"
HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_BODY = 2 * 1024 * 1024  # a form with a pasted page; larger is refused (413)


def csrf_token(conn: HTTPConnection) -> str:
    """This session's token (made on first use; the session cookie carries it)."""
    token = conn.session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        conn.session["csrf"] = token
    return token


def _matches(conn: HTTPConnection, given: Any) -> bool:
    expected = conn.session.get("csrf")
    return (
        isinstance(expected, str)
        and bool(expected)
        and isinstance(given, str)
        and hmac.compare_digest(expected.encode(), given.encode())
    )


class CSRFMiddleware:
    """Refuse (403) an unsafe request whose token is missing or not this session's."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        if _matches(conn, conn.headers.get(HEADER)):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            await _refuse(413, "The form is too large.", scope, receive, send)
            return
        if not _matches(conn, (await _form(scope, body)).get(FIELD)):
            await _refuse(
                403,
                "This form has expired or did not come from this site: reload the page and "
                "try again.",
                scope,
                receive,
                send,
            )
            return
        await self.app(scope, _replay(body, receive), send)


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _form(scope: Scope, body: bytes) -> FormData:
    request = Request(scope, _replay(body, None))
    try:
        form = await request.form()
    except Exception:  # noqa: BLE001 - a malformed body has no token: refused
        return FormData()
    await form.close()
    return form


def _replay(body: bytes, receive: Receive | None) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if receive is None:
            return {"type": "http.disconnect"}
        return await receive()

    return replay


async def _refuse(status: int, text: str, scope: Scope, receive: Receive, send: Send) -> None:
    response: Response = PlainTextResponse(text, status_code=status)
    await response(scope, receive, send)
