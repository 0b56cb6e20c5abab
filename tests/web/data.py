"""Stored documents, matches and alerts for the page tests, written through the real store
(record_poll with the rules' matcher and alert maker) and the real delivery worker."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import httpx

from monitor.alerts import build_channels
from monitor.alerts.routing import alert_maker
from monitor.alerts.webhook import WebhookOptions
from monitor.alerts.worker import DeliveryRun, deliver_due
from monitor.models import Document
from monitor.rules import Rule, RuleSet, parse_query
from monitor.settings import Settings
from monitor.store import Store

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
RULES_YAML = """\
terms:
  envoys:
    - Biegun
    - '"Special Representative"'
rules:
  - id: biegun
    name: Biegun mentioned
    query: '@envoys'
    notify: [desk]
  - id: sanctions
    name: Sanctions change
    query: sanction* NEAR/4 (lift* OR impos*)
    notify: [desk]
"""


def ruleset() -> RuleSet:
    def rule(rule_id: str, name: str, query: str) -> Rule:
        return Rule(id=rule_id, name=name, query=query, ast=parse_query(query), notify=("desk",))

    return RuleSet(
        [
            rule("biegun", "Biegun mentioned", 'Biegun OR "Special Representative"'),
            rule("sanctions", "Sanctions change", "sanction* NEAR/4 (lift* OR impos*)"),
        ]
    )


def doc(doc_id: str, title: str, body: str, **fields: object) -> Document:
    values: dict[str, object] = {
        "id": doc_id,
        "source_id": "state",
        "url": f"https://www.state.gov/{doc_id}",
        "title": title,
        "kind": "Media Note",
        "published_at": NOW - timedelta(days=1),
        "body": body,
        "content_hash": str(hash((title, body))),
        "fetched_at": NOW,
    }
    values.update(fields)
    return Document(**values)  # type: ignore[arg-type]


def record(store: Store, source: str, docs: Iterable[Document], now: datetime = NOW) -> None:
    """Store one poll as the pipeline does: documents, matches and alerts in one go."""
    rules = ruleset()
    store.record_poll(source, list(docs), now=now, match=rules.match, alerts=alert_maker(rules))


def deliver(
    store: Store, settings: Settings, statuses: list[int], now: datetime = NOW
) -> DeliveryRun:
    """One delivery run to channel 'desk', a webhook answering `statuses` in turn."""
    answers = iter(statuses)

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(next(answers, 200))

    channels = build_channels(
        {"desk": WebhookOptions(type="webhook", url="https://hooks.example.org/desk")},
        settings,
        webhook={"transport": httpx.MockTransport(answer)},
    )
    return asyncio.run(deliver_due(store, channels, settings, clock=lambda: now))
