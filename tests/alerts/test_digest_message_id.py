"""A digest's Message-ID comes from its alerts, so a resent digest can be recognised."""

from __future__ import annotations

import asyncio
from pathlib import Path

from monitor.alerts.base import OutboxAlert, Sent, sample_alert
from monitor.alerts.email import EmailChannel
from tests.alerts.conftest import SmtpServer, email_options
from tests.conftest import fast_settings


def batch(*keys: str) -> list[OutboxAlert]:
    alerts = []
    for key in keys:
        alert = sample_alert("desk")
        alert.key = key
        alerts.append(alert)
    return alerts


def test_the_same_digest_sent_twice_has_the_same_message_id(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    smtp.start()
    settings = fast_settings(
        tmp_path, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_from="monitor@example.org"
    )
    channel = EmailChannel("desk", email_options(digest="15m"), settings)
    # As after a crash between sending and recording: the batch goes out again, and
    # its rows may come back from the outbox in another order.
    for alerts in (batch("k1", "k2", "k3"), batch("k3", "k1", "k2"), batch("k1", "k2", "k4")):
        assert isinstance(asyncio.run(channel.send(alerts)), Sent)
    first, again, other = (m["Message-ID"] for _, m in smtp.inbox.messages)
    assert first == again
    assert other != first
    assert first.endswith("@example.org>") and len(first) == len("<@example.org>") + 40


def test_a_single_alert_keeps_its_idempotency_key_as_message_id(tmp_path: Path) -> None:
    channel = EmailChannel("desk", email_options(), fast_settings(tmp_path))
    [alert] = batch("0291bf7462dc07c007b3aa0a74a0b1ce15dc55fa")
    assert channel.render([alert])["Message-ID"] == (
        "<0291bf7462dc07c007b3aa0a74a0b1ce15dc55fa@localhost>"
    )
