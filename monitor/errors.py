"""The exceptions monitor raises.

```
MonitorError                  base of everything below; its str() is a one-line message
├── ConfigError               a config file is invalid (file:line: source 'id': reason)
├── FetchError                an HTTP fetch failed for good (after retries)
│   └── TransientFetchError   a fetch failed in a way worth retrying (timeout, 5xx, 429)
├── ParseError                a response could not be turned into items (not a feed, broken)
├── QuerySyntaxError          a rule's query cannot be parsed (rules/query.py; has a column)
└── StoreError                the database refused an operation
```
Only `cli.py` turns these into exit codes; the pipeline records them as poll results.
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base class; `str(err)` is a one-line, user-readable message."""


class ConfigError(MonitorError):
    """A configuration file is invalid; the message names file, line and item."""

    def __init__(self, messages: list[str] | str) -> None:
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        super().__init__("\n".join(self.messages))


class FetchError(MonitorError):
    """A fetch failed and will not be retried."""

    http_status: int | None = None  # the server's answer, when it gave one (the poll history)


class TransientFetchError(FetchError):
    """A fetch failed in a way that a later attempt may fix."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ParseError(MonitorError):
    """A response could not be parsed into items."""


class StoreError(MonitorError):
    """The store could not complete an operation."""
