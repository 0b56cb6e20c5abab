"""What the pages know beyond the database: the running service's live state."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class ChannelInfo:
    """A configured channel as the pages may show it: never its secrets."""

    name: str
    type: str  # email | webhook
    target: str = ""  # where it sends: a webhook's scheme and host, an email's recipients
    digest_seconds: int | None = None  # alerts are gathered this long before a send
    # Text an error must never show (a webhook URL's path and query, header values).
    secrets: tuple[str, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class Live:
    """The service's state at one moment (`monitor web` has no scheduler: `scheduler` None)."""

    sources: tuple[str, ...] = ()  # configured source ids, in config order
    scheduler: bool | None = None  # the scheduler is running; None: there is none
    next_polls: Mapping[str, datetime] = field(default_factory=dict)
    rules: int | None = None  # rules in force
    channels: tuple[ChannelInfo, ...] = ()  # configured channels, in config order


LiveState = Callable[[], Live]
