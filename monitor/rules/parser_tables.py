"""The query grammar's parse tables, shipped precomputed in `query_tables.json`.

Building the LALR tables from the grammar costs ~35 ms at every start of every command
(`monitor once`, `check`, each replica); loading them ~2 ms. The file is lark's own
serialisation, written as JSON (never pickle: nothing here executes what it reads), with a
stamp of the grammar, its options and lark's version. A stamp that does not match (the
grammar edited, lark upgraded) or an unreadable file builds the tables from the grammar
instead, as before, so the result is always right. `tests/rules/test_parser_tables.py`
fails while the shipped file is stale; rewrite it with

    python -c "from monitor.rules import parser_tables; parser_tables.main()"
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import lark
from lark import Lark
from lark.grammar import Rule
from lark.lexer import TerminalDef

TABLES = Path(__file__).with_name("query_tables.json")


def stamp(grammar: str, options: dict[str, Any]) -> str:
    """What the tables were built from: the grammar, the options and lark's version."""
    seen = json.dumps([grammar, sorted(options.items()), lark.__version__])
    return hashlib.sha256(seen.encode("utf-8")).hexdigest()


def _int_keys(obj: dict[str, Any]) -> dict[Any, Any]:
    # JSON keys are strings; lark's memo ids and parser states are ints. Names in a lark
    # grammar never consist of digits only, so no other key is touched.
    return {int(k) if k.isdigit() else k: v for k, v in obj.items()}


def load(grammar: str, options: dict[str, Any], tables: Path = TABLES) -> Lark | None:
    """The parser from the shipped tables; None if they are missing, unreadable or stale."""
    try:
        shipped = json.loads(tables.read_text(encoding="utf-8"), object_hook=_int_keys)
    except (OSError, ValueError):
        return None
    if not isinstance(shipped, dict) or shipped.get("stamp") != stamp(grammar, options):
        return None
    return Lark.load({"data": shipped["data"], "memo": shipped["memo"]})


def parser(grammar: str, **options: Any) -> Lark:
    """A LALR parser for `grammar`: from the shipped tables when they are current."""
    return load(grammar, options) or Lark(grammar, **options)


def write(grammar: str, options: dict[str, Any], tables: Path = TABLES) -> None:
    built = Lark(grammar, **options)
    data, memo = built.memo_serialize([TerminalDef, Rule])
    shipped = {"stamp": stamp(grammar, options), "data": data, "memo": memo}
    tables.write_text(json.dumps(shipped, sort_keys=True) + "\n", encoding="utf-8")


def main() -> None:
    from monitor.rules.query import GRAMMAR, PARSER_OPTIONS  # this module is query's

    write(GRAMMAR, PARSER_OPTIONS)
    print(f"wrote {TABLES}")
