"""Channels' delivery health as the overview, `GET /api/channels` and /healthz show it.

Delivery runs apart from polling (a loop of its own; each send has MONITOR_DELIVERY_TIMEOUT,
and a hung channel's other sends wait for the next run), so a hung or failing channel no
longer shows as slow polls: it shows here. A channel's status, the first that applies:

- `failing`: its last attempt failed and alerts wait, or its last FAILING_AFTER attempts
  all failed (dead alerts count as failed);
- `backlog`: its oldest waiting alert has waited longer than `backlog_after` (plus the
  channel's digest window): the next delivery runs should have sent it, so the channel is
  hung or far behind (a send that never returns records no attempt until it times out);
- `idle`: nothing sent yet (no attempt recorded, no alert delivered);
- `ok`.

Errors are channels' own words, but a webhook's URL can hold its secret (a token in the
path or query string): every URL in an error is cut to its scheme and host, and the known
secret parts of configured channels are blanked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from monitor.alerts.base import ChannelOptions, one_line
from monitor.alerts.email import EmailOptions
from monitor.alerts.webhook import WebhookOptions
from monitor.settings import Settings
from monitor.sources.base import parse_interval
from monitor.store import Store
from monitor.store.browse import ChannelActivity
from monitor.web.render import iso
from monitor.web.state import ChannelInfo, Live

STATUSES = ("ok", "backlog", "failing", "idle")
UNHEALTHY = ("failing", "backlog")  # what /healthz reports as degraded
FAILING_AFTER = 3  # attempts in a row that failed
DELIVERY_EVERY = 2.0  # seconds between delivery runs: monitor.service.DELIVERY_EVERY
ERROR_CHARS = 500
HIDDEN = "…"
_MIN_SECRET = 6  # shorter parts ("/", "ops") would blank ordinary words, and hide nothing
_URL = re.compile(r"""\b[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>]*""")


def backlog_after(settings: Settings) -> float:
    """Seconds an alert may wait before its channel counts as backlogged: a send that
    times out (MONITOR_DELIVERY_TIMEOUT), the retry in a later run, and the time between
    runs."""
    return 2 * settings.delivery_timeout + DELIVERY_EVERY


# -- what the config says (no secrets leave here) ---------------------------------------


def origin(url: str) -> str:
    """`scheme://host[:port]` of a URL: no user, password, path or query."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return HIDDEN
    if not host:
        return f"{parts.scheme}://{HIDDEN}" if parts.scheme else HIDDEN
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def _secret_parts(options: ChannelOptions) -> tuple[str, ...]:
    if not isinstance(options, WebhookOptions):
        return ()
    try:
        parts = urlsplit(options.url)
        password = parts.password
    except ValueError:
        return (options.url,)
    found = [parts.path, parts.query, parts.fragment, password or ""]
    found += [value for _, value in parse_qsl(parts.query, keep_blank_values=True)]
    found += list(options.headers.values())
    # Longest first: blanking a part must not leave the rest of a longer one behind.
    return tuple(sorted({p for p in found if len(p) >= _MIN_SECRET}, key=len, reverse=True))


def channel_info(name: str, options: ChannelOptions) -> ChannelInfo:
    if isinstance(options, WebhookOptions):
        target = origin(options.url)
    elif isinstance(options, EmailOptions):
        target = ", ".join(options.to)
    else:
        target = ""
    digest = getattr(options, "digest", None)
    seconds = parse_interval(digest) if isinstance(digest, str) and digest else None
    return ChannelInfo(name, options.type, target, seconds, _secret_parts(options))


def channel_infos(channels: Mapping[str, ChannelOptions]) -> tuple[ChannelInfo, ...]:
    """The configured channels as the pages may show them (for `Live.channels`)."""
    return tuple(channel_info(name, options) for name, options in channels.items())


def _cut(found: re.Match[str]) -> str:
    url = found.group()
    bare = url.rstrip(".,;:!?)]")  # the sentence's punctuation, not the URL's
    return origin(bare) + url[len(bare) :]


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """An error fit to show: URLs cut to scheme and host, known secrets blanked, one line,
    at most ERROR_CHARS characters."""
    text = _URL.sub(_cut, text)
    for secret in secrets:  # what remains of them outside a URL (a path, a token)
        text = text.replace(secret, HIDDEN)
    text = one_line(text)
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 1] + HIDDEN


def secrets_of(live: Live) -> tuple[str, ...]:
    """Every configured channel's secret parts, longest first (one channel's error may
    name another's URL)."""
    return tuple(sorted({s for c in live.channels for s in c.secrets}, key=len, reverse=True))


def error_text(error: str | None, secrets: tuple[str, ...]) -> str | None:
    return redact(error, secrets) if error else error


# -- what the outbox says --------------------------------------------------------------


@dataclass(frozen=True)
class ChannelRow:
    """One channel on the overview: its status, queue and latest attempt."""

    name: str
    status: str  # one of STATUSES
    configured: bool
    type: str | None = None
    target: str = ""
    pending: int = 0
    oldest_pending: datetime | None = None
    waiting: float | None = None  # seconds the oldest pending alert has waited
    dead: int = 0
    last_delivered: datetime | None = None
    last_attempt: datetime | None = None
    last_result: str | None = None  # delivered | failed | dead
    last_error: str | None = None  # the last attempt's, redacted
    failures: int = 0  # the latest attempts that failed in a row (up to FAILING_AFTER)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "configured": self.configured,
            "type": self.type,
            "target": self.target,
            "pending": self.pending,
            "oldest_pending": iso(self.oldest_pending),
            "oldest_pending_age": round(self.waiting) if self.waiting is not None else None,
            "dead": self.dead,
            "last_delivered": iso(self.last_delivered),
            "last_attempt": iso(self.last_attempt),
            "last_result": self.last_result,
            "last_error": self.last_error,
        }


def status(
    activity: ChannelActivity, waited: float | None, limit: float, digest: int | None
) -> str:
    recent = activity.recent
    failed = [a.result != "delivered" for a in recent]
    in_a_row = len(failed) >= FAILING_AFTER and all(failed)
    if failed and failed[0] and (activity.pending > 0 or in_a_row):
        return "failing"
    if waited is not None and waited > limit + (digest or 0):
        return "backlog"
    if not recent and activity.last_delivered is None:
        return "idle"
    return "ok"


def row(
    activity: ChannelActivity,
    info: ChannelInfo | None,
    configured: bool,
    now: datetime,
    limit: float,
    secrets: tuple[str, ...] = (),
) -> ChannelRow:
    waited = None
    if activity.oldest_pending is not None:
        waited = max(0.0, (now - activity.oldest_pending).total_seconds())
    last = activity.recent[0] if activity.recent else None
    failures = 0
    for attempt in activity.recent:
        if attempt.result == "delivered":
            break
        failures += 1
    error = None
    if last is not None and last.error:
        error = redact(last.error, secrets)
    return ChannelRow(
        name=activity.channel,
        status=status(activity, waited, limit, info.digest_seconds if info else None),
        configured=configured,
        type=info.type if info else None,
        target=info.target if info else "",
        pending=activity.pending,
        oldest_pending=activity.oldest_pending,
        waiting=waited,
        dead=activity.dead,
        last_delivered=activity.last_delivered,
        last_attempt=last.attempted_at if last else None,
        last_result=last.result if last else None,
        last_error=error,
        failures=failures,
    )


def channel_rows(store: Store, live: Live, settings: Settings, now: datetime) -> list[ChannelRow]:
    """Configured channels in config order, then channels known only from the outbox
    (alerts for a channel this config does not define: another replica's, or removed)."""
    infos = {c.name: c for c in live.channels}
    found = store.browse.channel_activity(list(infos), recent=FAILING_AFTER)
    names = list(infos) + sorted(set(found) - set(infos))
    limit = backlog_after(settings)
    secrets = secrets_of(live)
    return [
        row(found[n], infos.get(n), n in infos or not infos, now, limit, secrets)
        for n in names
        if n in found
    ]
