"""The query parser: what queries mean, and what staff see when one is wrong."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.rules.query import (
    And,
    Near,
    Not,
    Or,
    Pattern,
    QuerySyntaxError,
    Within,
    parse_query,
)


def w(text: str, prefix: bool = False, field: str | None = None) -> Pattern:
    return Pattern(((text, prefix),), field)


def shape(node: object) -> object:
    """The query's structure without source text, for comparisons."""
    if isinstance(node, Pattern):
        return ("P", node.parts, node.field)
    if isinstance(node, And | Or):
        return (type(node).__name__, tuple(shape(c) for c in node.children))
    if isinstance(node, Not):
        return ("Not", shape(node.child))
    if isinstance(node, Within):
        return ("Within", shape(node.left), shape(node.right), node.paragraph)
    assert isinstance(node, Near)
    return ("Near", shape(node.left), shape(node.right), node.distance)


MEANINGS = [
    ("biegun", w("biegun")),
    ("a b OR c", Or((And((w("a"), w("b"))), w("c")))),
    ("a AND b OR c AND d", Or((And((w("a"), w("b"))), And((w("c"), w("d")))))),
    ("a OR b c", Or((w("a"), And((w("b"), w("c")))))),
    ("NOT a b", And((Not(w("a")), w("b")))),
    ("sanction*", w("sanction", True)),
    ('"Special Representative"', Pattern((("special", False), ("representative", False)))),
    ("U.S.-ROK", Pattern((("us", False), ("rok", False)))),
    ("a NEAR/3 (b OR cat*)", Near(w("a"), Or((w("b"), w("cat", True))), 3)),
    ("title:(a OR body:b)", Or((w("a", field="title"), w("b", field="body")))),
    ("ANDROID OR NOTE", Or((w("android"), w("note")))),
    ("a and b", And((w("a"), w("and"), w("b")))),
    # Words that begin with "near" are words; only NEAR/n is the operator.
    ("nearby OR nearly", Or((w("nearby"), w("nearly")))),
    ("Nearest near NEARBY", And((w("nearest"), w("near"), w("nearby")))),
    ("near* NEAR/2 base", Near(w("near", True), w("base"), 2)),
    # Same sentence / same paragraph, spelled out or in the Westlaw/Lexis short forms.
    ("sanction* SENT lift*", Within(w("sanction", True), w("lift", True))),
    ("sanction* /s lift*", Within(w("sanction", True), w("lift", True))),
    ("a PARA (b OR c)", Within(w("a"), Or((w("b"), w("c"))), paragraph=True)),
    ("a /p b", Within(w("a"), w("b"), paragraph=True)),
    ("(a NEAR/2 b) /s c", Within(Near(w("a"), w("b"), 2), w("c"))),
    ("a /s b AND c", And((Within(w("a"), w("b")), w("c")))),
    ("title:(a SENT b)", Within(w("a", field="title"), w("b", field="title"))),
    # Lower-case "sent", "para" and a slash inside a word stay words.
    ("sent para", And((w("sent"), w("para")))),
]


@pytest.mark.parametrize(("query", "expected"), MEANINGS, ids=[m[0] for m in MEANINGS])
def test_query_meaning(query: str, expected: object) -> None:
    assert shape(parse_query(query)) == shape(expected)


ERRORS = [
    ("a OR", "the query ends where a word, phrase or '(' was expected", 5),
    ("(a OR b", "missing ')'", 8),
    ("a OR b)", "unexpected ')' (no '(' to close)", 7),
    ('"new sanctions', "unclosed quote '\"'", 1),
    ("subject:korea", "unknown field 'subject:' (fields: title:, body:, author:)", 1),
    ("a NEAR b", "NEAR needs a distance in words, e.g. NEAR/5", 3),
    ("a NEAR/b c", "NEAR needs a distance in words, e.g. NEAR/5", 3),
    ("a NEAR/3 (b AND c)", "NEAR joins words, phrases or (… OR …) groups, not AND/NOT", 3),
    ("a SENT (b AND c)", "SENT joins words, phrases or (… OR …) groups, not AND/NOT", 3),
    ("(a b) /p c", "PARA joins words, phrases or (… OR …) groups, not AND/NOT", 7),
    ("a /s", "the query ends where a word, phrase or '(' was expected", 5),
    ("PARA b", "PARA needs a word, phrase or (…) on each side, e.g. sanctions PARA lifted", 1),
    ("/s b", "/s (SENT) needs a word, phrase or (…) on each side, e.g. sanctions /s lifted", 1),
    ("a AND SENT", "SENT needs a word, phrase or (…) on each side, e.g. sanctions SENT lifted", 7),
    ("sa*", "'sa*': truncation needs at least 3 letters before '*'", 1),
    ("s*nction", "'s*nction': truncation '*' goes only at the end of a word", 1),
    ("@sanctons", "unknown term list '@sanctons' (did you mean '@sanctions'?)", 1),
    ("", "the query is empty", 1),
]


@pytest.mark.parametrize(
    ("query", "message", "column"), ERRORS, ids=[e[0] or "empty" for e in ERRORS]
)
def test_syntax_errors_say_what_and_where(query: str, message: str, column: int) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(query, {"sanctions": w("sanction", True)})
    assert (info.value.message, info.value.column) == (message, column)
    query_line, caret_line = info.value.caret(indent="").split("\n")
    assert query_line == query and caret_line == " " * (column - 1) + "^"


QUERY_CHARS = st.sampled_from(
    [
        "a",
        "b",
        "sanction*",
        '"',
        "(",
        ")",
        " ",
        "AND",
        "OR",
        "NOT",
        "NEAR/2",
        "NEAR",
        "SENT",
        "/s",
        "/p",
        "title:",
        "foo:",
        "@x",
        "@",
        "*",
        "-",
        "U.S.",
        "é",
        ":",
        "\n",
    ]
)


@settings(max_examples=300)
@given(st.lists(QUERY_CHARS, max_size=12).map(" ".join) | st.text(max_size=40))
def test_parser_never_crashes(query: str) -> None:
    try:
        parse_query(query, {"x": w("x")})
    except QuerySyntaxError as err:
        assert err.message
