"""What the pages know beyond the database: the running service's live state."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Live:
    """The service's state at one moment (`monitor web` has no scheduler: `scheduler` None)."""

    sources: tuple[str, ...] = ()  # configured source ids, in config order
    scheduler: bool | None = None  # the scheduler is running; None: there is none
    next_polls: Mapping[str, datetime] = field(default_factory=dict)
    rules: int | None = None  # rules in force


LiveState = Callable[[], Live]
