"""From matches to outbox alerts: one per channel each matching rule notifies."""

from __future__ import annotations

from monitor.alerts.base import alert_payload, idempotency_key
from monitor.models import Match, StoredChange
from monitor.rules import RuleSet
from monitor.store.outbox import NewAlert
from monitor.store.store import AlertMaker


def alert_maker(rules: RuleSet) -> AlertMaker:
    """The callable the store uses, inside its transaction, to enqueue a match's alerts."""
    by_id = {rule.id: rule for rule in rules.rules}

    def alerts(change: StoredChange, match: Match) -> list[NewAlert]:
        rule = by_id.get(match.rule_id)
        if rule is None:
            return []
        document = change.document
        out = []
        for channel in rule.notify:
            if channel in rules.channels_off:
                continue  # an optional channel whose address is not set (see Config.off)
            key = idempotency_key(rule.id, document.id, document.version, channel)
            payload = alert_payload(
                key,
                match,
                document,
                " ".join(rule.query.split()),
                update=change.change == "updated",
            )
            out.append(NewAlert(key, channel, rule.id, document.id, document.version, payload))
        return out

    return alerts
