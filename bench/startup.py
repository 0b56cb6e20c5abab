"""Startup benchmark: CPU a fresh `monitor` process spends on quick commands (issue #13.4).

Each command runs as a new process, the way a user or cron runs it, against the shipped
config/ with no database (nothing is polled or stored). For each it prints the median,
min and max user + sys CPU over N runs (from the kernel's accounting of the finished
child), and the modules it imports from the heavy libraries that only some commands need.
Most of this cost is imports, so it is what every `monitor once` cycle pays before it
fetches anything. Figures on a busy shared machine are indicative. The processes run in
an empty directory, so `PYTHONPATH=../main python bench/startup.py` measures the code of
another checkout (a before/after comparison) with this one's config.

    python bench/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS: list[tuple[str, list[str]]] = [
    ("--help", ["--help"]),
    ("check", ["check"]),
    ("rules list", ["rules", "list"]),
    (
        "rules test (README.md)",
        ["rules", "test", "biegun", "--query", "biegun", "--file", str(ROOT / "README.md")],
    ),
    ("once --help", ["once", "--help"]),
]
# Libraries only some commands need: the web pages, migrations, training, page parsing.
HEAVY = [
    "starlette",
    "uvicorn",
    "jinja2",
    "alembic",
    "sklearn",
    "readability",
    "bs4",
    "lxml.html.clean",
    "feedparser",
    "sqlalchemy",
    "httpx",
]
PROBE = (
    "import sys, runpy; sys.argv = ['monitor'] + sys.argv[1:]\n"
    "try:\n    runpy.run_module('monitor', run_name='__main__')\n"
    "except SystemExit:\n    pass\n"
    f"heavy = {HEAVY!r}\n"
    "print(' '.join(h for h in heavy if h in sys.modules), file=sys.stderr)\n"
)


def cpu_of(args: list[str], env: dict[str, str], cwd: str) -> float:
    """User + sys CPU seconds of one `python -m monitor ARGS` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def heavy_imports(args: list[str], env: dict[str, str], cwd: str) -> str:
    """Which of HEAVY the command imported."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(
            os.environ,
            MONITOR_DATABASE_URL=f"sqlite:///{tmp}/none.db",
            MONITOR_CONFIG_DIR=str(ROOT / "config"),
        )
        print(f"python -m monitor …, CPU user+sys over {options.runs} runs (s)")
        print(f"{'command':<24} {'median':>7} {'min':>6} {'max':>6}  heavy modules imported")
        for name, args in COMMANDS:
            cpu_of(args, env, tmp)  # warm the page cache and .pyc files
            times = [cpu_of(args, env, tmp) for _ in range(options.runs)]
            print(
                f"{name:<24} {statistics.median(times):7.2f} {min(times):6.2f} "
                f"{max(times):6.2f}  {heavy_imports(args, env, tmp) or '-'}"
            )


if __name__ == "__main__":
    main()
