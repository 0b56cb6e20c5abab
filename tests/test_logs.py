"""Structured logs carry ids as fields and never print secrets."""

from __future__ import annotations

import json
import logging

from monitor.logs import JsonFormatter
from monitor.settings import Settings


def test_json_lines_keep_extra_fields() -> None:
    record = logging.makeLogRecord(
        {
            "msg": "source %s failed",
            "args": ("state",),
            "levelname": "WARNING",
            "name": "monitor.service",
            "source": "state",
        }
    )
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "source state failed" and line["source"] == "state"
    assert line["level"] == "warning"


def test_secrets_do_not_show_in_settings_output() -> None:
    settings = Settings(smtp_password="hunter2", webhook_secret="s3cret")  # type: ignore[arg-type]
    assert "hunter2" not in repr(settings) and "s3cret" not in str(settings.model_dump())
