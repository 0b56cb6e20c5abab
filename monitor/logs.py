"""Logging: readable text by default, one JSON object per line with MONITOR_LOG_FORMAT=json."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Structured lines for log collectors; extra={...} fields (source, rule, channel) kept."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


# Alembic's start-up chatter: a line per plugin, two about the migration context and one
# per migration applied ("Running upgrade a -> b", a screenful on a new database), all
# shown at DEBUG only; `monitor db upgrade` prints the revision reached.
_ALEMBIC_CHATTER = ("setup plugin ", "Context impl ", "Will assume ", "Running upgrade ")


class _DemoteChatter(logging.Filter):
    """Lower alembic's start-up chatter to DEBUG (dropped unless the level is DEBUG)."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("alembic") and record.getMessage().startswith(_ALEMBIC_CHATTER):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return self.level <= logging.DEBUG
        return True


def configure(log_format: str, level: int) -> None:
    """Set up the root logger once, for the CLI and the service."""
    handler = logging.StreamHandler()
    handler.addFilter(_DemoteChatter(level))
    if log_format == "json":  # validated by Settings: text or json
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler.executors", "apscheduler.scheduler"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
