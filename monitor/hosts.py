"""Per-host politeness (`hosts:` in sources.yaml), without the HTTP stack's imports."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class HostPolicy:
    """Politeness towards one host: requests at once, and seconds between their starts.

    None keeps the setting (MONITOR_HOST_CONCURRENCY / MONITOR_HOST_DELAY)."""

    concurrency: int | None = None
    delay: float | None = None


def host_of(url: str) -> str:
    """The host part of `url` as `hosts:` names it: lower case, with a port if given."""
    return urlsplit(url).netloc.lower().rpartition("@")[2]
