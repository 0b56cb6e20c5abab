"""Feed text placed in a Slack message cannot ping people, add links or disguise them."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.alerts import build_channels
from monitor.alerts.base import OutboxAlert, sample_alert
from monitor.alerts.routing import alert_maker
from monitor.alerts.webhook import slack_text
from monitor.alerts.worker import deliver_due
from monitor.fixture_server import FixtureServer
from monitor.models import Document
from monitor.rules import Rule, RuleSet, parse_query
from monitor.store import Store
from tests.alerts.conftest import Clock, Hook, webhook_options
from tests.conftest import fast_settings

INJECTED_URL = "http://x/a>b<!channel><https://evil.example|Click to read>"


def alert(url: str = "https://e.org/x", **document: str) -> OutboxAlert:
    a = sample_alert("ops")
    a.payload["document"].update(url=url, **document)
    return a


def links(text: str) -> list[str]:
    """Slack's control sequences: <url|label>, <!channel>, <@U123>…"""
    return re.findall(r"<[^<>]*>", text)


def test_an_injected_url_cannot_ping_the_channel_or_disguise_a_link() -> None:
    text = slack_text([alert(INJECTED_URL)])
    [link] = links(text)  # the title's link, and nothing else
    target, label = link[1:-1].split("|", 1)
    assert target == (
        "http://x/a&gt;b&lt;!channel&gt;&lt;https://evil.example%7CClick%20to%20read&gt;"
    )
    assert label == "Test alert for channel 'ops'"
    assert "<!channel>" not in text and "<https://evil.example" not in text


@pytest.mark.parametrize("field", ["title", "source_id", "kind"])
def test_document_fields_are_escaped(field: str) -> None:
    hostile = "A & B <!channel> <@U024BE7LH> <https://evil.example|Click>"
    text = slack_text([alert(**{field: hostile})])
    assert len(links(text)) == 1
    if field == "title":
        assert (
            "A &amp; B &lt;!channel&gt; &lt;@U024BE7LH&gt; &lt;https://evil.example|Click&gt;"
            in text
        )


def test_rule_name_and_snippet_are_escaped() -> None:
    a = alert()
    a.payload["rule"]["name"] = "Rule <!here>"
    a.payload["matches"][0]["snippet"] = "said <!everyone> & <https://evil.example|more>"
    text = slack_text([a])
    assert "Rule &lt;!here&gt;" in text
    assert "said &lt;!everyone&gt; &amp; &lt;https://evil.example|more&gt;" in text
    assert len(links(text)) == 1


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "data:text/html,<b>x</b>", "file:///etc/passwd", "JAVASCRIPT:x"],
)
def test_links_that_are_not_http_are_shown_as_text(url: str) -> None:
    text = slack_text([alert(url)])
    assert links(text) == []
    assert "Test alert for channel 'ops'" in text
    assert url.split(":")[0].lower() not in text.lower()


def test_an_injected_link_from_a_real_delivery(
    tmp_path: Path, production_server: FixtureServer
) -> None:
    """A stored document with the hostile link, delivered to a receiver on loopback."""
    hook = Hook()
    production_server.routes["/hooks/chat"] = hook
    settings = fast_settings(tmp_path)
    store = Store.open(settings.database_url)
    rules = RuleSet([Rule("biegun", "Biegun", "biegun", parse_query("biegun"), notify=("chat",))])
    doc = Document(
        id="hostile",
        source_id="news",
        url=INJECTED_URL,
        title="Biegun <!here> visit",
        body="Envoy Biegun said <!everyone>.",
        content_hash="h",
        fetched_at=datetime.now(UTC),
    )
    store.record_poll(
        "news", [doc], now=datetime.now(UTC), match=rules.match, alerts=alert_maker(rules)
    )
    options = webhook_options(production_server.url("/hooks/chat"), format="slack")
    channels = build_channels({"chat": options}, settings)
    [delivery] = asyncio.run(deliver_due(store, channels, settings, Clock()))
    assert delivery.status == "delivered"
    [(_, raw)] = hook.received
    sent = json.loads(raw)["text"]
    assert len(links(sent)) == 1
    for ping in ("<!channel>", "<!here>", "<!everyone>", "<https://evil.example"):
        assert ping not in sent
