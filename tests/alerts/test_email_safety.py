"""Scraped text is hostile: it must not add headers or markup to an alert email."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from monitor.alerts.email import EmailChannel, EmailOptions, clean_header
from monitor.alerts.routing import alert_maker
from monitor.models import Document
from monitor.rules import Rule, RuleSet, parse_query
from monitor.store import Store
from tests.alerts.conftest import Clock, SmtpServer
from tests.conftest import fast_settings

HOSTILE_TITLE = "Biegun visit\r\nBcc: x@evil.example\r\nX-Injected: yes"


def _queue(tmp_path: Path, title: str, body: str) -> tuple[Store, RuleSet]:
    store = Store.open(fast_settings(tmp_path).database_url)
    rules = RuleSet(
        [Rule("biegun", "Biegun <b>named</b>", "biegun", parse_query("biegun"), notify=("mail",))]
    )
    doc = Document(
        id="hostile",
        source_id="news",
        url="https://e.org/x?a=1&b=<2>",
        title=title,
        body=body,
        content_hash="h",
        fetched_at=datetime.now(UTC),
    )
    store.record_poll(
        "news", [doc], now=datetime.now(UTC), match=rules.match, alerts=alert_maker(rules)
    )
    return store, rules


def test_hostile_title_and_body_cannot_add_headers_or_markup(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    smtp.start()
    body = "<script>alert('x')</script> Envoy Biegun said <img src=x onerror=alert(1)>."
    store, _ = _queue(tmp_path, HOSTILE_TITLE, body)
    settings = fast_settings(
        tmp_path, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_from="monitor@example.org"
    )
    channel = EmailChannel(
        "mail", EmailOptions(type="email", to=["analysts@example.org"]), settings
    )
    import asyncio

    from monitor.alerts.worker import deliver_due

    clock = Clock()
    [delivery] = asyncio.run(deliver_due(store, {"mail": channel}, settings, clock))
    assert delivery.status == "delivered"
    [(recipients, message)] = smtp.inbox.messages
    assert recipients == ["analysts@example.org"]
    assert message["Bcc"] is None and message["X-Injected"] is None
    assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
    assert message["Subject"] == (
        "[monitor] Biegun <b>named</b>: Biegun visit Bcc: x@evil.example X-Injected: yes"
    )
    html = message.get_body(("html",)).get_content()
    assert "<script>" not in html and "<img" not in html and "<b>named</b>" not in html
    assert "&lt;script&gt;" in html and "Biegun &lt;b&gt;named&lt;/b&gt;" in html
    assert 'href="https://e.org/x?a=1&amp;b=&lt;2&gt;"' in html


def test_very_long_titles_are_capped_in_the_subject(tmp_path: Path) -> None:
    assert len(clean_header("[monitor] rule: " + "Biegun " * 2000)) == 200
    store, _ = _queue(tmp_path, "Biegun " + "x" * 10_000, "Biegun")
    [alert] = store.outbox.claim_due(datetime.now(UTC), 60, {})
    settings = fast_settings(tmp_path, smtp_from="monitor@example.org")
    channel = EmailChannel("mail", EmailOptions(type="email", to=["a@example.org"]), settings)
    message = channel.render([alert])
    assert len(message["Subject"]) <= 200 and message["Subject"].endswith("…")
    assert max(len(line) for line in bytes(message).split(b"\n")) <= 998  # RFC 5322
