"""Real servers on loopback for delivery tests: aiosmtpd for email, http.server for hooks."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from monitor.alerts import build_channels
from monitor.alerts.base import Channel, ChannelOptions, idempotency_key
from monitor.alerts.email import EmailOptions
from monitor.alerts.webhook import WebhookOptions
from monitor.alerts.worker import Delivery, deliver_due
from monitor.fixture_server import FixtureServer
from monitor.models import PollResult
from monitor.rules import Rule, RuleSet, parse_query
from monitor.settings import Settings
from monitor.store import Store
from monitor.store.outbox import NewAlert
from tests.conftest import fast_settings, poll, shipped_sources


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Inbox:
    """What the SMTP server received."""

    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"


class SmtpServer:
    """aiosmtpd on 127.0.0.1; can be started late to play a server that was down."""

    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self._controller: Controller | None = None

    def start(self) -> SmtpServer:
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    yield server
    server.stop()


@dataclass
class Hook:
    """A webhook receiver answering with the statuses given, in turn (the last repeats)."""

    statuses: list[int] = field(default_factory=lambda: [200])
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)  # sent with every answer
    gate: threading.Event | None = None  # answer only once it is set (at most 30 s)
    gate_opened: list[bool] = field(default_factory=list)  # whether each wait saw it set
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, req: BaseHTTPRequestHandler) -> None:
        body: bytes = getattr(req, "body", b"")
        if self.delay:
            time.sleep(self.delay)
        if self.gate is not None:
            self.gate_opened.append(self.gate.wait(timeout=30))
        with self.lock:
            status = self.statuses[min(len(self.received), len(self.statuses) - 1)]
            self.received.append((dict(req.headers.items()), body))
        req.send_response(status)
        for name, value in self.headers.items():
            req.send_header(name, value)
        req.send_header("Content-Length", "0")
        req.end_headers()


class SilentServer:
    """A TCP server on 127.0.0.1 that accepts connections and never says a word (a hung
    SMTP server); `stop` closes every connection, so threads still reading give up."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = int(self._listener.getsockname()[1])
        self.connections: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:  # closed by stop()
                return
            self.connections.append(conn)

    def stop(self) -> None:
        self._listener.close()
        for conn in self.connections:
            conn.close()
        self._thread.join(timeout=5)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC) + timedelta(seconds=1)  # just after the poll

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Desk:
    """A store with the State Department feed polled and its alerts queued."""

    store: Store
    settings: Settings
    channels: dict[str, Channel]
    clock: Clock
    results: list[PollResult]

    def deliver(self, **kwargs: Any) -> list[Delivery]:
        return asyncio.run(
            deliver_due(self.store, self.channels, self.settings, self.clock, **kwargs)
        )


def make_desk(
    tmp_path: Path,
    server: FixtureServer,
    channel_options: dict[str, ChannelOptions],
    *,
    query: str = "biegun",
    settings_overrides: dict[str, Any] | None = None,
    store: Store | None = None,
    sources: list[str] | None = None,
) -> Desk:
    settings = fast_settings(
        tmp_path, smtp_from="monitor@example.org", **(settings_overrides or {})
    )
    store = store or Store.open(settings.database_url)
    rules = RuleSet(
        [
            Rule(
                "biegun",
                "Stephen Biegun mentioned",
                query,
                parse_query(query),
                notify=tuple(channel_options),
            )
        ]
    )
    wanted = sources or ["state-press-releases"]
    results = poll(
        [s for s in shipped_sources() if s.id in wanted],
        store,
        settings,
        rewrite_to=server,
        rules=rules,
    )
    channels = build_channels(channel_options, settings)
    return Desk(store, settings, channels, Clock(), results)


def queue(store: Store, now: datetime, *channels: str, per_channel: int = 1) -> None:
    """Queue `per_channel` alerts for each channel named, created at `now`."""
    store.enqueue(
        [
            NewAlert(
                key,
                channel,
                "biegun",
                f"doc-{i}",
                1,
                {
                    "type": "monitor.alert",
                    "schema": 1,
                    "id": key,
                    "rule": {"id": "biegun", "name": "Stephen Biegun mentioned", "query": "-"},
                    "document": {
                        "id": f"doc-{i}",
                        "source_id": "state",
                        "url": f"https://www.state.gov/release-{i}/",
                        "title": f"Release {i}",
                        "kind": "Media Note",
                        "published_at": "2018-11-20T21:06:00Z",
                        "authors": [],
                        "version": 1,
                    },
                    "matches": [
                        {
                            "field": "body",
                            "terms": ["Biegun"],
                            "snippet": "Biegun met",
                            "highlights": [],
                        }
                    ],
                    "update": False,
                },
            )
            for channel in channels
            for i in range(per_channel)
            for key in [idempotency_key("biegun", f"doc-{i}", 1, channel)]
        ],
        now,
    )


def email_options(**extra: Any) -> EmailOptions:
    return EmailOptions(type="email", to=["analysts@example.org"], **extra)


def webhook_options(url: str, **extra: Any) -> WebhookOptions:
    return WebhookOptions(type="webhook", url=url, **extra)


ONE_RELEASE = '"Working Group" AND title:ROK'  # matches the Media Note only: one alert


def hook_desk(
    tmp_path: Path, server: FixtureServer, handler: Callable[..., None], query: str = ONE_RELEASE
) -> Desk:
    """A desk whose one rule alerts a webhook channel 'ops' served by `handler`."""
    server.routes["/hooks/ops"] = handler
    return make_desk(
        tmp_path, server, {"ops": webhook_options(server.url("/hooks/ops"))}, query=query
    )
