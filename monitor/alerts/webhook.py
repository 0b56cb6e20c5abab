"""`type: webhook`: POST the alert as JSON (or a Slack/Mattermost/Teams text message)."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import json
import ssl
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from monitor.alerts.base import (
    Channel,
    ChannelOptions,
    Dead,
    OutboxAlert,
    Outcome,
    Retry,
    Sent,
    batch_key,
    one_line,
    register,
    safe_link,
)
from monitor.alerts.feedback import feedback_links
from monitor.settings import Settings, env_value

# httpx (and monitor.fetch, which imports it) load when a webhook is sent: `monitor check`
# reads this module for WebhookOptions and starts faster without them (issue #13).
if TYPE_CHECKING:
    import httpx

TIMEOUT_SECONDS = 10.0


class WebhookOptions(ChannelOptions):
    type: Literal["webhook"] = "webhook"
    url: str
    format: Literal["json", "slack"] = "json"
    headers: dict[str, str] = Field(default_factory=dict)
    secret_env: str | None = None  # name of the variable holding this channel's secret

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"'{value}' is not an http(s) URL")
        return value

    @field_validator("secret_env")
    @classmethod
    def _secret_is_set(cls, value: str | None) -> str | None:
        # Checked when the config loads: a typo must not turn into unsigned delivery.
        if value is not None:
            found = env_value(value)
            if found is None:
                raise ValueError(
                    f"environment variable {value} is not set "
                    "(it holds this channel's signing secret)"
                )
            if not found:
                raise ValueError(f"environment variable {value} is empty")
        return value


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle costs ~40 ms: once per process, not once per delivery run.
    return ssl.create_default_context()


def _slack_escape(text: object) -> str:
    """Text for Slack mrkdwn: one line, with &, < and > escaped, so feed text cannot
    mention (`<!channel>`), link (`<url|label>`) or start a new line."""
    text = one_line(str(text))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_link(url: object, label: str) -> str:
    """`<url|label>` for an http(s) URL; the bare label for anything else."""
    link = safe_link(url)
    if link is None:
        return label
    # A `|` in the target would end it early and let the rest pose as the label.
    return f"<{_slack_escape(link).replace('|', '%7C')}|{label}>"


def slack_text(alerts: list[OutboxAlert], settings: Settings | None = None) -> str:
    """A chat message: rule, linked title, the matching sentence (and feedback links)."""
    lines = []
    for alert in alerts:
        p = alert.payload
        doc, match = p["document"], p["matches"][0]
        title = _slack_link(doc.get("url"), _slack_escape(doc["title"]))
        line = f"*[monitor] {_slack_escape(p['rule']['name'])}*: {title}\n"
        line += f"> {_slack_escape(match['snippet'])}"
        links = feedback_links(settings, p, "webhook") if settings else None
        if links:
            line += (
                f"\nUseful? {_slack_link(links['useful'], 'Yes')} · "
                f"{_slack_link(links['not_useful'], 'No')}"
            )
        lines.append(line)
    return "\n\n".join(lines)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`X-Monitor-Signature`: covers the timestamp too, so a receiver can refuse replays."""
    signed = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


class SecretMissing(Exception):
    """The channel's `secret_env` variable is gone: sending unsigned is not an option."""


@register
class WebhookChannel(Channel):
    type_name: ClassVar[str] = "webhook"
    Options: ClassVar[type[ChannelOptions]] = WebhookOptions

    def __init__(
        self,
        name: str,
        options: ChannelOptions,
        settings: Settings,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(name, options, settings)
        self._transport = transport
        self._clock = clock  # unix seconds, for X-Monitor-Timestamp
        # One client (connection pool) per event loop: concurrent delivery runs in other
        # threads must not share, or close, each other's connections.
        self._clients: dict[asyncio.AbstractEventLoop, httpx.AsyncClient] = {}

    def _session(self) -> httpx.AsyncClient:
        import httpx

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self._clients[loop] = httpx.AsyncClient(
                transport=self._transport,
                timeout=httpx.Timeout(TIMEOUT_SECONDS),
                follow_redirects=False,
                verify=_ssl_context(),
                # A small pool: httpcore scans every pooled connection on each request.
                limits=httpx.Limits(max_connections=16, max_keepalive_connections=8),
            )
        return client

    async def aclose(self) -> None:
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()

    def _secret(self) -> str | None:
        options = self.options
        assert isinstance(options, WebhookOptions)
        if options.secret_env:
            secret = env_value(options.secret_env)
            if not secret:  # validated at load; gone since (options built in code?)
                raise SecretMissing(
                    f"environment variable {options.secret_env} (secret_env) is not set: "
                    "not sending unsigned"
                )
            return secret
        configured = self.settings.webhook_secret
        return configured.get_secret_value() if configured else None

    def body(self, alerts: list[OutboxAlert]) -> dict[str, Any]:
        options = self.options
        assert isinstance(options, WebhookOptions)
        if options.format == "slack":
            return {"text": slack_text(alerts, self.settings)}
        payloads = [self._with_feedback(a.payload) for a in alerts]
        if len(payloads) == 1:
            return payloads[0]
        return {"type": "monitor.digest", "schema": 1, "alerts": payloads}

    def _with_feedback(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The payload plus its `feedback` links, when alerts carry them (MONITOR_PUBLIC_URL)."""
        links = feedback_links(self.settings, payload, "webhook")
        return {**payload, "feedback": links} if links else payload

    async def send(self, alerts: list[OutboxAlert]) -> Outcome:
        import httpx

        from monitor.fetch import retry_after_seconds

        options = self.options
        assert isinstance(options, WebhookOptions)
        raw = json.dumps(self.body(alerts), ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            **options.headers,
            "Content-Type": "application/json",
            "User-Agent": self.settings.user_agent,
            "Idempotency-Key": batch_key(a.key for a in alerts),
        }
        try:
            secret = self._secret()
        except SecretMissing as err:
            return Retry(str(err))
        if secret:
            timestamp = str(int(self._clock()))
            headers["X-Monitor-Timestamp"] = timestamp
            headers["X-Monitor-Signature"] = signature(secret, timestamp, raw)
        # The host only: a webhook's path is often its secret (Slack, Teams).
        host = urlsplit(options.url).hostname or "?"
        try:
            response = await self._session().post(options.url, content=raw, headers=headers)
        except httpx.TimeoutException:
            return Retry(f"webhook at {host} timed out")
        except httpx.TransportError as err:
            reason = str(err)[:200] or type(err).__name__
            return Retry(f"webhook at {host} unreachable: {reason}")
        status = response.status_code
        if 200 <= status < 300:
            return Sent(f"HTTP {status}")
        reason = f"webhook answered HTTP {status}"
        if status in (408, 429) or status >= 500:
            return Retry(reason, retry_after_seconds(response.headers.get("Retry-After")))
        return Dead(reason)
