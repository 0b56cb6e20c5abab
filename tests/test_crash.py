"""A crash loses nothing: `monitor run`/`monitor once` killed -9 at random, 0 alerts lost.

The reduced form of bench/crash.py (which runs ≥ 100 kills on SQLite and PostgreSQL):
20 kills over 200 releases × 2 channels (a real webhook receiver and an aiosmtpd server).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bench.crash import crash_loop


@pytest.mark.slow
def test_kill_9_at_random_moments_loses_no_alert_and_resends_under_the_same_key(
    tmp_path: Path,
) -> None:
    seed = random.randrange(1 << 30)
    figures = crash_loop(
        kills=20,
        backend="sqlite",
        feeds=20,
        items=10,
        seed=seed,
        workdir=tmp_path,
        drain_timeout=60,
        max_life=2.5,
        echo=lambda _: None,
    )
    report = f"seed {seed}\n{figures.report()}"
    print(report)  # the figures, for `pytest -s` and failure output
    assert figures.kills == 20, report
    assert figures.failures == [], report  # every restart came up (no process died alone)
    assert figures.expected == 400, report
    assert figures.lost == 0, report
    assert figures.new_key_duplicates == 0, report
    assert figures.outbox.get("delivered") == 400 and set(figures.outbox) == {"delivered"}, report
