"""A digest channel gathers its window's alerts into one message."""

from __future__ import annotations

from pathlib import Path

from monitor.fixture_server import FixtureServer
from tests.alerts.conftest import SmtpServer, email_options, make_desk


def test_digest_sends_one_message_with_every_alert_of_the_window(
    tmp_path: Path,
    production_server: FixtureServer,
    smtp: SmtpServer,
) -> None:
    smtp.start()
    desk = make_desk(
        tmp_path,
        production_server,
        {"desk-digest": email_options(digest="15m")},
        query="biegun OR sanction*",
        sources=["state-press-releases", "yonhap-north-korea"],
        settings_overrides={"smtp_host": "127.0.0.1", "smtp_port": smtp.port},
    )
    queued = desk.store.outbox.depth()
    assert queued >= 3
    assert desk.deliver() == []  # the window is still open
    desk.clock.advance(16 * 60)
    [delivery] = desk.deliver()
    assert delivery.status == "delivered" and len(delivery.alert_ids) == queued
    [(_, message)] = smtp.inbox.messages
    assert message["Subject"] == f"[monitor] {queued} alerts: Stephen Biegun mentioned"
    text = message.get_body(("plain",)).get_content()
    assert text.startswith(f"{queued} alerts")
    assert "1. [Stephen Biegun mentioned] " in text  # the table of contents
    assert "U.S.-ROK Working Group" in text and "Remarks to the Press" in text
    html = message.get_body(("html",)).get_content()
    assert html.count('<a href="#a') == queued
    assert desk.store.outbox.depth() == 0
