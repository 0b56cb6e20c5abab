"""Scraped text is hostile: it must not add headers or markup to an alert email."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.alerts.base import OutboxAlert, Sent, sample_alert
from monitor.alerts.email import EmailChannel, EmailOptions, clean_header
from monitor.alerts.routing import alert_maker
from monitor.alerts.webhook import slack_text
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


# Every control character class: CR, LF, NUL, ESC (terminal colours), DEL, NEL and the
# Unicode line and paragraph separators.
NASTY = "\r\nBcc: x@evil.example\r\n\x00\x1b[31m\x7f\x85\u2028\u2029X-Injected: yes"
FLAT = "Bcc: x@evil.example [31m X-Injected: yes"  # NASTY on one line, ESC gone
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x85\u2028\u2029]")


def hostile_alert(url: str = "https://e.org/x", published: str | None = None) -> OutboxAlert:
    """An alert with the hostile text in every field that a message shows."""
    alert = sample_alert("mail")
    p = alert.payload
    p["rule"] = {"id": f"r{NASTY}", "name": f"Rule{NASTY}", "query": f"q{NASTY}"}
    doc = p["document"]
    doc.update(
        title=f"Title{NASTY}",
        source_id=f"src{NASTY}",
        kind=f"Kind{NASTY}",
        authors=[f"Author{NASTY}"],
        url=url,
    )
    if published is not None:
        doc["published_at"] = published
    snippet = f"Snippet{NASTY} Biegun said."
    start = snippet.index("Biegun")
    p["matches"] = [
        {
            "field": "body",
            "terms": ["Biegun"],
            "snippet": snippet,
            "highlights": [[start, start + 6]],
        }
    ]
    return alert


def test_control_characters_in_every_field_are_stripped(tmp_path: Path, smtp: SmtpServer) -> None:
    smtp.start()
    settings = fast_settings(
        tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_from=f'"Monitor{NASTY}" <monitor@example.org>',
    )
    channel = EmailChannel("mail", EmailOptions(type="email", to=["a@example.org"]), settings)
    alerts = [hostile_alert(), hostile_alert()]
    alerts[1].key = "other-key"
    for batch in (alerts[:1], alerts):  # one alert, and a digest
        outcome = asyncio.run(channel.send(batch))
        assert isinstance(outcome, Sent), outcome
    assert len(smtp.inbox.messages) == 2
    for _, message in smtp.inbox.messages:
        assert message["Bcc"] is None and message["X-Injected"] is None
        for name, value in message.items():
            assert not _CONTROL_CHARS.search(value), name
            assert "\n" not in str(value) and "\r" not in str(value), name
        assert message["From"] == f'"Monitor {FLAT}" <monitor@example.org>'
        assert message["Message-ID"].endswith("@example.org>")
        for part in ("plain", "html"):
            body = message.get_body((part,)).get_content().replace("\r\n", "\n")  # SMTP's
            assert not _CONTROL_CHARS.search(body), part
            # Hostile text never starts a line of its own (no forged "Bcc:" lines either).
            assert not any(line.startswith(("Bcc:", "X-Injected")) for line in body.splitlines())
    single = smtp.inbox.messages[0][1]
    assert single["Subject"] == f"[monitor] Rule {FLAT}: Title {FLAT}"
    html = single.get_body(("html",)).get_content()
    assert "<strong>Biegun</strong> said" in html  # highlights still line up


def test_a_slack_message_gets_no_control_characters() -> None:
    text = slack_text([hostile_alert()])
    lines = text.split("\n")
    assert len(lines) == 2 and lines[1].startswith("> ")
    assert not _CONTROL_CHARS.search(text)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        " JavaScript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "file:///etc/passwd",
        "vbscript:msgbox(1)",
        "//evil.example/no-scheme",
    ],
)
def test_links_that_are_not_http_never_reach_an_email(tmp_path: Path, url: str) -> None:
    settings = fast_settings(tmp_path, smtp_from="monitor@example.org")
    channel = EmailChannel("mail", EmailOptions(type="email", to=["a@example.org"]), settings)
    alert = hostile_alert(url=url)
    for batch in ([alert], [alert, hostile_alert(url=url)]):
        message = channel.render(batch)
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        for body in (text, html):
            assert "script:" not in body.lower() and "data:" not in body and "file:" not in body
            assert "evil.example/no-scheme" not in body
        assert "Title" in text and "Title" in html  # the title is shown, without a link
        assert not re.search(r'href="(?!#a)', html)


def test_http_links_still_reach_the_email(tmp_path: Path) -> None:
    settings = fast_settings(tmp_path, smtp_from="monitor@example.org")
    channel = EmailChannel("mail", EmailOptions(type="email", to=["a@example.org"]), settings)
    message = channel.render([hostile_alert(url="HTTPS://e.org/a b?x=1&y=2")])
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert 'href="HTTPS://e.org/a%20b?x=1&amp;y=2"' in html
    assert "HTTPS://e.org/a%20b?x=1&y=2" in text


@pytest.mark.parametrize(
    ("published", "zone", "shown"),
    [
        ("9999-12-31T23:00:00Z", "Asia/Tokyo", "31 December 9999 23:00 UTC"),
        ("0001-01-01T01:00:00Z", "America/New_York", "01 January 1 01:00 UTC"),
        ("2018-11-20T21:06:00Z", "Asia/Tokyo", "21 November 2018 06:06 JST"),
        ("not a date", "Asia/Tokyo", "not a date"),
    ],
)
def test_dates_at_the_edge_of_the_calendar_render(
    tmp_path: Path, published: str, zone: str, shown: str
) -> None:
    # Year 9999 23:00 UTC is past the end of the calendar in Tokyo: shown in UTC instead
    # of failing the alert on every attempt until it is dead.
    settings = fast_settings(tmp_path, smtp_from="monitor@example.org", timezone=zone)
    channel = EmailChannel("mail", EmailOptions(type="email", to=["a@example.org"]), settings)
    message = channel.render([hostile_alert(published=published)])
    assert shown in message.get_body(("plain",)).get_content()
