"""Quick commands start fast: they do not import what only serving, polling or training needs.

Each `monitor` command is a fresh process, so every library it imports is paid on every
call (issue #13: `bench/startup.py` measures the CPU). These tests keep the heavy ones out.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Web pages, migrations, training, page parsing, email templates, the database, HTTP.
NEVER_AT_IMPORT = ["starlette", "uvicorn", "sklearn", "readability", "alembic", "bs4"]
NOT_FOR_CHECK = [*NEVER_AT_IMPORT, "sqlalchemy", "jinja2", "httpx"]

PROBE = """
import json, runpy, sys
if sys.argv[1:]:
    sys.argv = ["monitor", *sys.argv[1:]]
    try:
        runpy.run_module("monitor", run_name="__main__")
    except SystemExit as exit:
        print("exit", exit.code, file=sys.stderr)
else:
    import monitor.cli  # noqa: F401
print(json.dumps(sorted(sys.modules)))
"""


def imported_by(*args: str, tmp_path: Path) -> set[str]:
    """Top-level modules a fresh interpreter has loaded after `monitor ARGS` (or the import)."""
    env = dict(
        os.environ,
        MONITOR_CONFIG_DIR=str(ROOT / "config"),
        MONITOR_DATABASE_URL=f"sqlite:///{tmp_path / 'none.db'}",
    )
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    last = done.stdout.strip().splitlines()[-1]
    assert "exit 0" in done.stderr or not args, done.stderr
    return {name.split(".")[0] for name in json.loads(last)}


def test_importing_the_cli_loads_no_server_training_or_migration_library(tmp_path: Path) -> None:
    heavy = imported_by(tmp_path=tmp_path) & set(NEVER_AT_IMPORT)
    assert not heavy, f"`import monitor.cli` loads {sorted(heavy)}"


def test_check_reads_the_config_without_database_http_or_template_libraries(
    tmp_path: Path,
) -> None:
    heavy = imported_by("check", tmp_path=tmp_path) & set(NOT_FOR_CHECK)
    assert not heavy, f"`monitor check` loads {sorted(heavy)}"
    assert not (tmp_path / "none.db").exists()  # and creates no database
