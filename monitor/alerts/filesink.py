"""Channel transports that write files instead of sending: `monitor demo` uses them."""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

import httpx


def file_transports(directory: Path) -> dict[str, dict[str, object]]:
    """Overrides for `build_channels`: emails become .eml files, webhooks .json files."""
    directory.mkdir(parents=True, exist_ok=True)

    def write_email(message: EmailMessage) -> None:
        name = str(message["Message-ID"]).strip("<>").split("@")[0]
        (directory / f"{name}.eml").write_bytes(bytes(message))

    def write_webhook(request: httpx.Request) -> httpx.Response:
        name = request.headers.get("Idempotency-Key", "webhook")
        body = json.loads(request.content)
        (directory / f"{name}.json").write_text(
            json.dumps(
                {"url": str(request.url), "headers": dict(request.headers), "body": body},
                indent=2,
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
        return httpx.Response(200)

    return {
        "email": {"sender": write_email},
        "webhook": {"transport": httpx.MockTransport(write_webhook)},
    }
