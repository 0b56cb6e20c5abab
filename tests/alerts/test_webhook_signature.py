"""Webhook signatures cover a timestamp, so receivers can refuse replays.

The receiver here is the README's own verification snippet, run against real requests.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from monitor.alerts.base import Retry, sample_alert
from monitor.alerts.webhook import WebhookChannel, signature
from monitor.fixture_server import FixtureServer
from tests.alerts.conftest import ONE_RELEASE, Hook, make_desk, webhook_options
from tests.conftest import ROOT, fast_settings

Verify = Callable[..., bool]


@pytest.fixture(scope="module")
def readme_verify() -> Verify:
    """`verify` as the README shows it to receivers."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    [code] = [
        block
        for block in re.findall(r"```python\n(.*?)```", readme, flags=re.S)
        if "X-Monitor-Timestamp" in block
    ]
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    verify: Verify = namespace["verify"]
    return verify


def _signed_request(
    tmp_path: Path, server: FixtureServer, **settings: Any
) -> tuple[dict[str, str], bytes]:
    hook = Hook()
    server.routes["/hooks/ops"] = hook
    desk = make_desk(
        tmp_path,
        server,
        {"ops": webhook_options(server.url("/hooks/ops"))},
        query=ONE_RELEASE,
        settings_overrides={"webhook_secret": "s3cret", **settings},
    )
    [delivery] = desk.deliver()
    assert delivery.status == "delivered"
    [(headers, raw)] = hook.received
    return headers, raw


def test_the_receiver_verifies_the_signature_with_its_timestamp(
    tmp_path: Path, production_server: FixtureServer, readme_verify: Verify
) -> None:
    headers, raw = _signed_request(tmp_path, production_server)
    assert re.fullmatch(r"[0-9]+", headers["X-Monitor-Timestamp"])
    assert headers["X-Monitor-Signature"].startswith("sha256=")
    assert readme_verify(b"s3cret", headers, raw)
    # A replay with a fresh timestamp, a tampered body or another secret fails.
    later = {**headers, "X-Monitor-Timestamp": str(int(headers["X-Monitor-Timestamp"]) + 60)}
    assert not readme_verify(b"s3cret", later, raw)
    assert not readme_verify(b"s3cret", headers, raw.replace(b"Working", b"Walking"))
    assert not readme_verify(b"other", headers, raw)
    assert not readme_verify(
        b"s3cret", {"X-Monitor-Signature": headers["X-Monitor-Signature"]}, raw
    )


def test_the_readme_snippet_refuses_an_old_request(readme_verify: Verify) -> None:
    body = b'{"type":"monitor.alert"}'
    old = str(int(time.time()) - 3600)
    headers = {"X-Monitor-Timestamp": old, "X-Monitor-Signature": signature("k", old, body)}
    assert not readme_verify(b"k", headers, body)
    fresh = str(int(time.time()))
    headers = {"X-Monitor-Timestamp": fresh, "X-Monitor-Signature": signature("k", fresh, body)}
    assert readme_verify(b"k", headers, body)


def test_the_timestamp_is_the_time_of_sending(tmp_path: Path) -> None:
    received: list[Mapping[str, str]] = []

    async def send() -> None:
        import httpx

        def handler(request: httpx.Request) -> httpx.Response:
            received.append(request.headers)
            return httpx.Response(200)

        options = webhook_options("https://hooks.example.org/ops")
        settings = fast_settings(tmp_path, webhook_secret="s3cret")
        channel = WebhookChannel(
            "ops", options, settings, httpx.MockTransport(handler), clock=lambda: 1_700_000_000.9
        )
        await channel.send([sample_alert("ops")])
        await channel.aclose()

    asyncio.run(send())
    [headers] = received
    assert headers["X-Monitor-Timestamp"] == "1700000000"


def test_unsigned_when_no_secret_is_configured(
    tmp_path: Path, production_server: FixtureServer
) -> None:
    hook = Hook()
    production_server.routes["/hooks/ops"] = hook
    desk = make_desk(
        tmp_path,
        production_server,
        {"ops": webhook_options(production_server.url("/hooks/ops"))},
        query=ONE_RELEASE,
    )
    desk.deliver()
    [(headers, _)] = hook.received
    assert "X-Monitor-Signature" not in headers and "X-Monitor-Timestamp" not in headers


def test_a_secret_variable_gone_at_send_time_is_not_sent_unsigned(
    tmp_path: Path, production_server: FixtureServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESK_HOOK_SECRET", "per-channel")
    hook = Hook()
    production_server.routes["/hooks/desk"] = hook
    desk = make_desk(
        tmp_path,
        production_server,
        {
            "desk": webhook_options(
                production_server.url("/hooks/desk"), secret_env="DESK_HOOK_SECRET"
            )
        },
        query=ONE_RELEASE,
    )
    monkeypatch.delenv("DESK_HOOK_SECRET")
    [delivery] = desk.deliver()
    assert isinstance(delivery.outcome, Retry)
    assert "DESK_HOOK_SECRET" in delivery.outcome.error
    assert hook.received == []
