"""Alerts carry signed "useful / not useful" links when MONITOR_PUBLIC_URL is set."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import monitor.alerts
from monitor.alerts.base import OutboxAlert, sample_alert
from monitor.alerts.email import EmailChannel
from monitor.alerts.feedback import (
    Vote,
    feedback_links,
    links_off_reason,
    make_token,
    read_token,
    signing_key,
)
from monitor.alerts.webhook import WebhookChannel, slack_text
from monitor.fixture_server import FixtureServer
from monitor.settings import Settings
from tests.alerts.conftest import Hook, SmtpServer, email_options, make_desk, webhook_options
from tests.conftest import fast_settings

SECRET = "a-feedback-secret-of-32-characters"
PUBLIC = "https://monitor.example.org/desk"
SCHEMA = json.loads(
    (Path(monitor.alerts.__file__).parent / "payload.schema.json").read_text(encoding="utf-8")
)


def on(tmp_path: Path, **extra: Any) -> Settings:
    return fast_settings(tmp_path, **{"public_url": PUBLIC, "feedback_secret": SECRET, **extra})


def alert(
    title: str = "Treasury designates three firms", rule: str = "sanctions-change"
) -> OutboxAlert:
    sample = sample_alert("desk")
    payload = {
        **sample.payload,
        "id": "a" * 40,
        "rule": {"id": rule, "name": "Sanctions changes", "query": "sanction*"},
        "document": {**sample.payload["document"], "id": "d" * 24, "title": title},
    }
    return OutboxAlert(1, "a" * 40, "desk", payload, 0, datetime.now(UTC))


VOTE = Vote("a" * 40, "sanctions-change", "d" * 24, "useful", "email")


def test_a_token_reads_back_as_the_vote_it_was_signed_for(tmp_path: Path) -> None:
    key = signing_key(on(tmp_path))
    assert key is not None
    token = make_token(key, VOTE)
    assert read_token(key, token) == VOTE
    assert make_token(key, VOTE) == token  # a resent email carries the same links
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", token)  # safe in a URL path


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"), id="signature"),
        pytest.param(lambda t: "e" + t[1:] if t[0] != "e" else "f" + t[1:], id="body"),
        pytest.param(lambda t: t.split(".")[0], id="no-signature"),
        pytest.param(lambda t: t + ".x", id="extra-part"),
        pytest.param(lambda t: "", id="empty"),
        pytest.param(lambda t: "x" * 5000, id="huge"),
    ],
)
def test_an_altered_token_is_refused(tmp_path: Path, tamper: Any) -> None:
    key = signing_key(on(tmp_path))
    assert key is not None
    assert read_token(key, tamper(make_token(key, VOTE))) is None


def test_a_token_switched_to_the_other_verdict_is_refused(tmp_path: Path) -> None:
    key = signing_key(on(tmp_path))
    assert key is not None
    useful = make_token(key, VOTE)
    other = make_token(key, Vote(**{**VOTE.__dict__, "verdict": "not_useful"}))
    forged = other.split(".")[0] + "." + useful.split(".")[1]
    assert read_token(key, forged) is None


def test_a_token_from_another_secret_is_refused(tmp_path: Path) -> None:
    key = signing_key(on(tmp_path))
    other = signing_key(on(tmp_path, feedback_secret="another-secret-of-enough-length"))
    assert key is not None and other is not None
    assert read_token(other, make_token(key, VOTE)) is None


def test_the_key_derived_from_the_webhook_secret_is_not_that_secret(tmp_path: Path) -> None:
    settings = fast_settings(tmp_path, public_url=PUBLIC, webhook_secret="hook-secret")
    key = signing_key(settings)
    assert key is not None and b"hook-secret" not in key
    assert feedback_links(settings, alert().payload, "email") is not None


def test_no_links_without_public_url_or_secret(tmp_path: Path) -> None:
    payload = alert().payload
    assert feedback_links(fast_settings(tmp_path, feedback_secret=SECRET), payload, "email") is None
    assert links_off_reason(fast_settings(tmp_path)) == (
        "alerts carry no feedback links: set MONITOR_PUBLIC_URL to the web pages' URL"
    )
    no_secret = fast_settings(tmp_path, public_url=PUBLIC)
    assert feedback_links(no_secret, payload, "email") is None
    assert "set MONITOR_FEEDBACK_SECRET" in (links_off_reason(no_secret) or "")
    assert links_off_reason(on(tmp_path)) is None


def test_settings_refuse_a_bad_public_url_or_a_short_secret(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is not an http"):
        fast_settings(tmp_path, public_url="monitor.example.org")
    with pytest.raises(ValueError, match="too short"):
        fast_settings(tmp_path, feedback_secret="short")
    assert on(tmp_path, public_url=PUBLIC + "/").public_url == PUBLIC


def test_ops_and_test_alerts_carry_no_links(tmp_path: Path) -> None:
    settings = on(tmp_path)
    assert feedback_links(settings, alert(rule="source-health").payload, "email") is None
    assert feedback_links(settings, sample_alert("desk").payload, "email") is None


def test_email_text_and_html_carry_both_links(tmp_path: Path) -> None:
    channel = EmailChannel("desk", email_options(), on(tmp_path), sender=lambda m: None)
    message = channel.render([alert()])
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    links = feedback_links(channel.settings, alert().payload, "email")
    assert links is not None
    assert f"Useful:     {links['useful']}" in text
    assert f"Not useful: {links['not_useful']}" in text
    assert f'<a href="{links["useful"]}">Useful</a>' in html
    assert f'<a href="{links["not_useful"]}">Not useful</a>' in html


def test_digest_email_carries_links_per_alert(tmp_path: Path) -> None:
    channel = EmailChannel("desk", email_options(), on(tmp_path), sender=lambda m: None)
    second = alert("Second release")
    second.payload["id"] = "b" * 40
    message = channel.render([alert(), second])
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert text.count(f"{PUBLIC}/feedback/") == 4


def test_email_without_public_url_has_no_feedback_lines(tmp_path: Path) -> None:
    channel = EmailChannel("desk", email_options(), fast_settings(tmp_path), sender=lambda m: None)
    message = channel.render([alert()])
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "feedback" not in text.lower() and "Useful" not in html


def test_webhook_payload_has_a_feedback_object_and_fits_the_schema(tmp_path: Path) -> None:
    channel = WebhookChannel("hook", webhook_options("https://hooks.example.org/x"), on(tmp_path))
    body = channel.body([alert()])
    jsonschema.validate(body, SCHEMA)
    assert set(body["feedback"]) == {"useful", "not_useful"}
    useful = body["feedback"]["useful"]
    assert useful.startswith(f"{PUBLIC}/feedback/")
    key = signing_key(channel.settings)
    assert key is not None
    vote = read_token(key, useful.rsplit("/", 1)[1])
    assert vote == Vote("a" * 40, "sanctions-change", "d" * 24, "useful", "webhook")
    second = alert()
    second.payload["id"] = "b" * 40
    digest = channel.body([alert(), second])
    jsonschema.validate(digest, SCHEMA)
    assert all("feedback" in a for a in digest["alerts"])


def test_webhook_payload_without_public_url_has_no_feedback_and_fits_the_schema(
    tmp_path: Path,
) -> None:
    channel = WebhookChannel(
        "hook", webhook_options("https://h.example.org/x"), fast_settings(tmp_path)
    )
    body = channel.body([alert()])
    assert "feedback" not in body
    jsonschema.validate(body, SCHEMA)


def test_the_schema_refuses_a_malformed_feedback_object(tmp_path: Path) -> None:
    body = {**alert().payload, "feedback": {"useful": "https://x.org/f/1"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(body, SCHEMA)


def test_slack_message_links_both_answers(tmp_path: Path) -> None:
    text = slack_text([alert()], on(tmp_path))
    links = feedback_links(on(tmp_path), alert().payload, "webhook")
    assert links is not None
    assert f"Useful? <{links['useful']}|Yes> · <{links['not_useful']}|No>" in text
    assert "Useful?" not in slack_text([alert()], fast_settings(tmp_path))


def test_delivered_email_and_webhook_carry_links(
    tmp_path: Path, production_server: FixtureServer, smtp: SmtpServer
) -> None:
    smtp.start()
    hook = Hook()
    production_server.routes["/hooks/ops"] = hook
    desk = make_desk(
        tmp_path,
        production_server,
        {
            "policy-email": email_options(),
            "ops-webhook": webhook_options(production_server.url("/hooks/ops")),
        },
        settings_overrides={
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
            "public_url": PUBLIC,
            "feedback_secret": SECRET,
        },
    )
    desk.deliver()
    _, message = smtp.inbox.messages[0]
    text = message.get_body(("plain",)).get_content()
    assert f"{PUBLIC}/feedback/" in text
    payload = json.loads(hook.received[0][1])
    jsonschema.validate(payload, SCHEMA)
    key = signing_key(desk.settings)
    assert key is not None
    vote = read_token(key, payload["feedback"]["not_useful"].rsplit("/", 1)[1])
    assert vote is not None and vote.alert_key == payload["id"]
    assert (vote.rule_id, vote.document_id, vote.verdict, vote.via) == (
        payload["rule"]["id"],
        payload["document"]["id"],
        "not_useful",
        "webhook",
    )
