"""Signed "useful / not useful" links that alerts carry, and the votes they stand for.

A link is `<MONITOR_PUBLIC_URL>/feedback/<token>`. The token holds the vote it casts
(alert key, rule, document, verdict, and how the alert reached the reader) and an
HMAC-SHA256 of it, so nobody can forge or alter one without the secret; the rule and
document ride in the token so a vote still counts after the alert's outbox row is pruned.

Each link works once (the store keeps a unique id per link): clicking "useful" twice
records one vote. An alert's two links are two different links, so a reader who chose
wrong can correct the vote once with the other link; the later vote replaces the earlier
one. `monitor alerts feedback` can always set it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Literal

from monitor.settings import Settings

Verdict = Literal["useful", "not_useful"]
Via = Literal["email", "webhook", "web", "cli"]
VERDICTS: tuple[Verdict, ...] = ("useful", "not_useful")
VIAS: tuple[Via, ...] = ("email", "webhook", "web", "cli")
_SHORT = {"useful": "u", "not_useful": "n"}
_LONG: dict[str, Verdict] = {"u": "useful", "n": "not_useful"}
TOKEN_VERSION = 1
MAX_TOKEN = 600  # longer than any token we make: refused before decoding
_SIGNATURE_BYTES = 16  # 128 bits: forging one is out of reach
# Alerts that are not about a document a rule matched: no vote to cast on them.
NO_FEEDBACK_RULES = frozenset({"source-health", "channel-test"})


@dataclass(frozen=True)
class Vote:
    """What a feedback link records."""

    alert_key: str
    rule_id: str
    document_id: str
    verdict: Verdict
    via: Via


def signing_key(settings: Settings) -> bytes | None:
    """The key that signs links: MONITOR_FEEDBACK_SECRET, else one derived from
    MONITOR_WEBHOOK_SECRET (never that secret itself); None when neither is set."""
    if settings.feedback_secret is not None:
        secret = settings.feedback_secret.get_secret_value().encode()
    elif settings.webhook_secret is not None:
        secret = settings.webhook_secret.get_secret_value().encode()
    else:
        return None
    # Domain separation: a feedback signature is never a valid webhook signature.
    return hmac.new(secret, b"monitor feedback links v1", hashlib.sha256).digest()


def links_off_reason(settings: Settings) -> str | None:
    """Why alerts carry no feedback links (for `monitor check`), or None if they do."""
    if not settings.public_url:
        return "alerts carry no feedback links: set MONITOR_PUBLIC_URL to the web pages' URL"
    if signing_key(settings) is None:
        return (
            "alerts carry no feedback links: MONITOR_PUBLIC_URL is set, but no secret signs "
            "them (set MONITOR_FEEDBACK_SECRET)"
        )
    return None


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, body: str) -> str:
    return _b64(hmac.new(key, body.encode(), hashlib.sha256).digest()[:_SIGNATURE_BYTES])


def make_token(key: bytes, vote: Vote) -> str:
    """`<body>.<signature>`: the same vote always gives the same token (a resent email
    carries the same links)."""
    fields = [TOKEN_VERSION, vote.alert_key, vote.rule_id, vote.document_id]
    fields += [_SHORT[vote.verdict], vote.via]
    body = _b64(json.dumps(fields, separators=(",", ":")).encode())
    return f"{body}.{_sign(key, body)}"


def read_token(key: bytes, token: str) -> Vote | None:
    """The vote a token casts, or None if it is malformed, altered or not signed by `key`."""
    if len(token) > MAX_TOKEN or token.count(".") != 1:
        return None
    body, signature = token.split(".")
    if not hmac.compare_digest(_sign(key, body), signature):
        return None
    try:
        fields: Any = json.loads(_unb64(body))
    except (binascii.Error, ValueError):
        return None
    if not (isinstance(fields, list) and len(fields) == 6 and fields[0] == TOKEN_VERSION):
        return None
    _, alert_key, rule_id, document_id, verdict, via = fields
    if verdict not in _LONG or via not in VIAS:
        return None
    if not all(isinstance(v, str) and v for v in (alert_key, rule_id, document_id)):
        return None
    return Vote(alert_key, rule_id, document_id, _LONG[verdict], via)


def link_id(token: str) -> str:
    """The id under which a used link is remembered (a hash: the link itself is a secret)."""
    return hashlib.sha256(token.encode()).hexdigest()[:40]


def feedback_paths(settings: Settings, payload: dict[str, Any], via: Via) -> dict[str, str] | None:
    """{"useful": "/feedback/…", "not_useful": "/feedback/…"} for an alert payload (the web
    pages link these), or None without a secret or for an alert that is not a rule's match."""
    key = signing_key(settings)
    rule = payload.get("rule")
    document = payload.get("document")
    rule_id = str(rule.get("id", "")) if isinstance(rule, dict) else ""
    document_id = str(document.get("id", "")) if isinstance(document, dict) else ""
    alert_key = str(payload.get("id", ""))
    if key is None or rule_id in NO_FEEDBACK_RULES or not (rule_id and document_id and alert_key):
        return None
    return {
        verdict: "/feedback/" + make_token(key, Vote(alert_key, rule_id, document_id, verdict, via))
        for verdict in VERDICTS
    }


def feedback_links(settings: Settings, payload: dict[str, Any], via: Via) -> dict[str, str] | None:
    """{"useful": url, "not_useful": url} for an alert payload, or None when links are off
    (no MONITOR_PUBLIC_URL or no secret) or the alert is not a rule's match."""
    paths = feedback_paths(settings, payload, via) if settings.public_url else None
    if paths is None:
        return None
    return {verdict: f"{settings.public_url}{path}" for verdict, path in paths.items()}
