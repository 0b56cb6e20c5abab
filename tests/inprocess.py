"""`monitor ARGS` run through its entry function in the test's own process.

What a user sees of a command (its exit code, stdout and stderr) without the second or so
a new Python process spends importing monitor: most CLI tests run commands this way. A few
per command group still start the real process (`python -m monitor`), for what only it
shows: the console script, imports, signals, memory limits, logs of a long-running server.
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import traceback
from collections.abc import Mapping
from pathlib import Path

from click.testing import CliRunner

from monitor.cli import main

ROOT = Path(__file__).resolve().parent.parent
# Loggers whose level `monitor.logs.configure` sets (with the root's handlers and level):
# put back after each command, as they were for the test.
_CONFIGURED = ("", "httpx", "httpcore", "apscheduler.executors", "apscheduler.scheduler")


def run_monitor(
    *args: str, env: Mapping[str, str | None] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """`monitor ARGS` with `env` added to the environment (None: removed), in `cwd`, as
    `subprocess.run` would return it (text, captured). An exception the command lets escape
    is printed to stderr as a traceback, with exit code 1, as Python would."""
    loggers = [logging.getLogger(name) for name in _CONFIGURED]
    saved = [(logger, logger.level, logger.handlers[:]) for logger in loggers]
    try:
        with contextlib.chdir(cwd):
            result = CliRunner().invoke(main, list(args), env=env, prog_name="monitor")
    finally:
        for logger, level, handlers in saved:
            logger.setLevel(level)
            logger.handlers[:] = handlers
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess(["monitor", *args], result.exit_code, result.stdout, stderr)
