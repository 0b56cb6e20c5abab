"""The query parser's shipped tables: current, parsing as the grammar does, never used stale."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from lark import Lark
from lark.exceptions import UnexpectedInput

from monitor.rules import parser_tables, query
from monitor.rules.query import GRAMMAR, PARSER_OPTIONS, QuerySyntaxError, parse_query
from tests.inprocess import ROOT

QUERIES = [
    'Biegun OR "Stephen Biegun"',
    "sanction* NEAR/3 (lift* OR eas*)",
    "title:envoy AND NOT (talks OR summit)",
    "a /s b PARA c SENT d /P e",
    "@biegun body:x (y OR z) w author:pompeo",
    'NOT NOT "a b c" AND (x OR (y AND z))',
    "and or near nearby sent",
    # Not queries: each parser must fail at the same place.
    "(a OR b",
    "a OR",
    "NEAR/3 b",
    '"unterminated',
    "a ) b",
    "title:",
]


def _outcome(parser: Lark, text: str) -> object:
    try:
        tree = parser.parse(text)
    except UnexpectedInput as err:
        return type(err).__name__, err.column
    positions = [
        (t.data, t.meta.line, t.meta.column, t.meta.end_column) for t in tree.iter_subtrees()
    ]
    return tree, positions


def test_the_shipped_tables_are_current() -> None:
    assert parser_tables.load(GRAMMAR, PARSER_OPTIONS) is not None, (
        "monitor/rules/query_tables.json is stale (the grammar, its options or lark changed): "
        'rewrite it with python -c "from monitor.rules import parser_tables; parser_tables.main()"'
    )


def test_the_shipped_tables_parse_as_the_grammar_does() -> None:
    shipped = parser_tables.load(GRAMMAR, PARSER_OPTIONS)
    assert shipped is not None
    built = Lark(GRAMMAR, **PARSER_OPTIONS)
    shipped_rules = yaml.safe_load((ROOT / "config" / "rules.yaml").read_text())["rules"]
    texts = QUERIES + [rule["query"] for rule in shipped_rules]
    assert len(texts) > len(QUERIES)
    for text in texts:
        assert _outcome(shipped, text) == _outcome(built, text), text


def test_the_shipped_parser_reports_errors_with_their_columns() -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query("sanctions AND (lift OR ease")
    assert caught.value.column == 28  # the end of the query: a ')' is missing
    assert isinstance(query._PARSER, Lark)


def test_stale_or_broken_tables_are_not_used(tmp_path: Path) -> None:
    stale = tmp_path / "stale.json"
    parser_tables.write(GRAMMAR.replace("NEAR", "NIGH"), PARSER_OPTIONS, stale)
    assert parser_tables.load(GRAMMAR, PARSER_OPTIONS, stale) is None
    other_options = tmp_path / "options.json"
    parser_tables.write(GRAMMAR, {**PARSER_OPTIONS, "propagate_positions": False}, other_options)
    assert parser_tables.load(GRAMMAR, PARSER_OPTIONS, other_options) is None
    broken = tmp_path / "broken.json"
    broken.write_text('{"stamp": ')
    assert parser_tables.load(GRAMMAR, PARSER_OPTIONS, broken) is None
    assert parser_tables.load(GRAMMAR, PARSER_OPTIONS, tmp_path / "missing.json") is None
    fresh = tmp_path / "fresh.json"
    parser_tables.write(GRAMMAR, PARSER_OPTIONS, fresh)
    assert parser_tables.load(GRAMMAR, PARSER_OPTIONS, fresh) is not None
