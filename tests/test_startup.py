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
loader = sys.modules.get("pydantic.plugin._loader")
if getattr(loader, "_plugins", None) is not None:
    print("pydantic scanned for plugins", file=sys.stderr)
print(json.dumps(sorted(sys.modules)))
"""


def imported_by(*args: str, tmp_path: Path, full: bool = False) -> set[str]:
    """Top-level modules (`full`: all modules) a fresh interpreter has loaded after
    `monitor ARGS` (or the import). Fails if pydantic searched for plugins: reading every
    installed package's metadata costs each command ~35 ms (monitor/__init__.py)."""
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
    assert "pydantic scanned for plugins" not in done.stderr
    return {name if full else name.split(".")[0] for name in json.loads(last)}


def test_importing_the_cli_loads_no_server_training_or_migration_library(tmp_path: Path) -> None:
    heavy = imported_by(tmp_path=tmp_path) & set(NEVER_AT_IMPORT)
    assert not heavy, f"`import monitor.cli` loads {sorted(heavy)}"


def test_check_reads_the_config_without_database_http_or_template_libraries(
    tmp_path: Path,
) -> None:
    heavy = imported_by("check", tmp_path=tmp_path) & set(NOT_FOR_CHECK)
    assert not heavy, f"`monitor check` loads {sorted(heavy)}"
    assert not (tmp_path / "none.db").exists()  # and creates no database


def test_a_sqlite_install_does_not_load_postgresql(tmp_path: Path) -> None:
    # The store's ON CONFLICT inserts are each database's own construct: only the one in
    # use is imported (PostgreSQL's costs every command ~25 ms). Migrating, the first time,
    # may load it (Alembic does); a database already migrated does not.
    imported_by("documents", tmp_path=tmp_path)
    modules = imported_by("documents", tmp_path=tmp_path, full=True)
    assert "sqlalchemy.dialects.sqlite" in modules
    assert "sqlalchemy.dialects.postgresql" not in modules
    assert "concurrent.futures.process" not in modules  # parse workers only when asked for
