"""The query language staff know from news databases, parsed into a small AST.

    biegun OR "special representative"      words and phrases (within a sentence), any case
    sanction*                                truncation (3+ letters before '*')
    a AND b, a b, a OR b, NOT a, ( … )       Boolean logic; AND binds tighter than OR
    sanction* NEAR/8 (lift* OR eas*)         two words within 8, either order, one paragraph
    sanction* SENT lift*, sanction* /s lift*  both in one sentence (any order, any distance)
    sanction* PARA lift*, sanction* /p lift*  both in one paragraph
    title:biegun, body:…, author:pompeo      restrict to one field
    @biegun                                  a named term list from rules.yaml

Operators are upper case (AND, OR, NOT, NEAR/n, SENT, PARA; `/s` and `/p` as in Westlaw and
Lexis); `and`, `or`, `near`, `nearby`, `sent` are words.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from lark import Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from monitor.errors import MonitorError
from monitor.rules import parser_tables
from monitor.rules.tokens import words

FIELDS = ("title", "body", "author")
MIN_PREFIX = 3

GRAMMAR = r"""
?start: or_expr
?or_expr: and_expr (_OR and_expr)*
?and_expr: not_expr (_AND? not_expr)*
?not_expr: _NOT not_expr -> not_
         | near_expr
?near_expr: unary ((NEAR | SCOPE) unary)*
?unary: FIELD primary -> field
      | primary
?primary: WORD -> word
        | PHRASE -> phrase
        | LISTREF -> listref
        | "(" or_expr ")"
_OR.2: /OR(?![^\s()":])/
_AND.2: /AND(?![^\s()":])/
_NOT.2: /NOT(?![^\s()":])/
NEAR.2: /NEAR\/\d+(?![^\s()":])/
SCOPE.2: /(SENT|PARA|\/[sSpP])(?![^\s()":])/
FIELD.3: /(title|body|author):/
PHRASE: /"[^"]*"/
LISTREF: /@[A-Za-z0-9_-]+/
WORD: /[^\s()":]+/
%ignore /\s+/
"""
PARSER_OPTIONS: dict[str, Any] = {
    "parser": "lalr",
    "propagate_positions": True,
    "maybe_placeholders": False,
}
_PARSER = parser_tables.parser(GRAMMAR, **PARSER_OPTIONS)


_T = TypeVar("_T")


def _hash_once(cls: type[_T]) -> type[_T]:
    """Nodes key the matcher's per-document caches: hash a (nested) query once, not per lookup."""
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]

    def __hash__(self: Any) -> int:
        found = self.__dict__.get("_hash")
        if found is None:
            found = hash(tuple(getattr(self, n) for n in names))
            object.__setattr__(self, "_hash", found)  # frozen: not a field, not compared
        return found  # type: ignore[no-any-return]

    cls.__hash__ = __hash__  # type: ignore[assignment]
    return cls


@_hash_once
@dataclass(frozen=True)
class Pattern:
    """A word, a truncation or a phrase: tokens in order, each exact or a prefix."""

    parts: tuple[tuple[str, bool], ...]
    field: str | None = None
    source: str = ""

    def describe(self) -> str:
        text = " ".join(t + ("*" if p else "") for t, p in self.parts)
        text = f'"{text}"' if len(self.parts) > 1 else text
        return f"{self.field}:{text}" if self.field else text


@_hash_once
@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@_hash_once
@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@_hash_once
@dataclass(frozen=True)
class Not:
    child: Node


@_hash_once
@dataclass(frozen=True)
class Near:
    left: Node
    right: Node
    distance: int


@_hash_once
@dataclass(frozen=True)
class Within:
    """Both sides in one sentence (`paragraph=False`) or one paragraph, any order or distance."""

    left: Node
    right: Node
    paragraph: bool = False

    @property
    def operator(self) -> str:
        return "PARA" if self.paragraph else "SENT"


Node = Pattern | And | Or | Not | Near | Within


class QuerySyntaxError(MonitorError, ValueError):
    """A query that cannot be parsed; `column` is 1-based within the query text."""

    def __init__(self, message: str, query: str, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.query = query
        self.column = column

    def caret(self, indent: str = "    ") -> str:
        """The query with a caret under the faulty column."""
        if self.column is None:
            return f"{indent}{self.query}"
        return f"{indent}{self.query}\n{indent}{' ' * (self.column - 1)}^"

    def __str__(self) -> str:
        where = f" at column {self.column}" if self.column else ""
        return f"{self.message}{where}\n{self.caret()}"


def _suggest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1)
    return f" (did you mean '@{close[0]}'?)" if close else ""


def _pattern(text: str, query: str, column: int, *, phrase: bool) -> Pattern:
    parts: list[tuple[str, bool]] = []
    pieces = text.split() if phrase else [text]
    for piece in pieces:
        prefix = piece.endswith("*")
        core = piece.rstrip("*")
        if "*" in core:
            raise QuerySyntaxError(
                f"'{piece}': truncation '*' goes only at the end of a word", query, column
            )
        tokens = words(core)
        if not tokens:
            raise QuerySyntaxError(
                f"'{piece}' has no letters or digits to search for", query, column
            )
        if prefix and len(tokens[-1]) < MIN_PREFIX:
            raise QuerySyntaxError(
                f"'{piece}': truncation needs at least {MIN_PREFIX} letters before '*'",
                query,
                column,
            )
        parts.extend((t, False) for t in tokens[:-1])
        parts.append((tokens[-1], prefix))
    if not parts:
        raise QuerySyntaxError('empty phrase ""', query, column)
    return Pattern(tuple(parts), None, text)


def _with_field(node: Node, field: str) -> Node:
    if isinstance(node, Pattern):
        return node if node.field else Pattern(node.parts, field, node.source)
    if isinstance(node, And):
        return And(tuple(_with_field(c, field) for c in node.children))
    if isinstance(node, Or):
        return Or(tuple(_with_field(c, field) for c in node.children))
    if isinstance(node, Not):
        return Not(_with_field(node.child, field))
    if isinstance(node, Within):
        return Within(_with_field(node.left, field), _with_field(node.right, field), node.paragraph)
    return Near(_with_field(node.left, field), _with_field(node.right, field), node.distance)


def _positional(node: Node) -> bool:
    """NEAR, SENT and PARA join words, phrases, OR groups of them, and each other."""
    if isinstance(node, Pattern | Near | Within):
        return True
    if isinstance(node, Or):
        return all(_positional(c) for c in node.children)
    return False


@v_args(tree=True)
class _ToAst(Transformer[Token, Node]):
    def __init__(self, query: str, lists: dict[str, Node]) -> None:
        super().__init__()
        self.query = query
        self.lists = lists

    def _column(self, tree: Tree[Any]) -> int | None:
        return getattr(tree.meta, "column", None) if not tree.meta.empty else None

    def word(self, tree: Tree[Any]) -> Node:
        token = tree.children[0]
        assert isinstance(token, Token)
        text = str(token)
        # Only a bare NEAR or a malformed NEAR/… is a mistake; "nearby", "nearly" are words.
        if text == "NEAR" or text.startswith("NEAR/"):
            raise QuerySyntaxError(
                "NEAR needs a distance in words, e.g. NEAR/5", self.query, token.column
            )
        # Where an operand is expected the lexer reads SENT, /s … as words: say what is wrong.
        if text in _SCOPES:
            name = _SCOPES[text]
            raise QuerySyntaxError(
                f"{text} needs a word, phrase or (…) on each side, e.g. sanctions {text} lifted"
                if text == name
                else f"{text} ({name}) needs a word, phrase or (…) on each side, "
                f"e.g. sanctions {text} lifted",
                self.query,
                token.column,
            )
        return _pattern(text, self.query, token.column or 1, phrase=False)

    def phrase(self, tree: Tree[Any]) -> Node:
        token = tree.children[0]
        assert isinstance(token, Token)
        return _pattern(str(token)[1:-1], self.query, token.column or 1, phrase=True)

    def listref(self, tree: Tree[Any]) -> Node:
        token = tree.children[0]
        assert isinstance(token, Token)
        name = str(token)[1:]
        if name not in self.lists:
            raise QuerySyntaxError(
                f"unknown term list '@{name}'{_suggest(name, sorted(self.lists))}",
                self.query,
                token.column,
            )
        return self.lists[name]

    def field(self, tree: Tree[Any]) -> Node:
        token, node = tree.children
        assert isinstance(token, Token)
        return _with_field(node, str(token)[:-1])  # type: ignore[arg-type]

    def not_(self, tree: Tree[Any]) -> Node:
        return Not(tree.children[0])  # type: ignore[arg-type]

    def and_expr(self, tree: Tree[Any]) -> Node:
        return And(tuple(tree.children))  # type: ignore[arg-type]

    def or_expr(self, tree: Tree[Any]) -> Node:
        return Or(tuple(tree.children))  # type: ignore[arg-type]

    def near_expr(self, tree: Tree[Any]) -> Node:
        items = tree.children
        node: Node = items[0]  # type: ignore[assignment]
        for index in range(1, len(items), 2):
            op, right = items[index], items[index + 1]
            assert isinstance(op, Token)
            name = _SCOPES.get(str(op), "NEAR")
            for operand in (node, right):
                if not _positional(operand):  # type: ignore[arg-type]
                    raise QuerySyntaxError(
                        f"{name} joins words, phrases or (… OR …) groups, not AND/NOT",
                        self.query,
                        op.column,
                    )
            if op.type == "SCOPE":
                node = Within(node, right, paragraph=name == "PARA")  # type: ignore[arg-type]
                continue
            distance = int(str(op).split("/")[1])
            if distance < 1:
                raise QuerySyntaxError(
                    "NEAR/0 is never true; use NEAR/1 or more", self.query, op.column
                )
            node = Near(node, right, distance)  # type: ignore[arg-type]
        return node


_SCOPES = {"SENT": "SENT", "/s": "SENT", "/S": "SENT", "PARA": "PARA", "/p": "PARA", "/P": "PARA"}


def _explain(err: UnexpectedInput, query: str) -> QuerySyntaxError:
    column = getattr(err, "column", None)
    column = column if isinstance(column, int) and column > 0 else None
    if isinstance(err, UnexpectedCharacters):
        pos = err.pos_in_stream or 0
        char = query[pos] if pos < len(query) else ""
        if char == '"':
            return QuerySyntaxError("unclosed quote '\"'", query, column)
        if char == ":":
            start = query.rfind(" ", 0, pos) + 1
            name = query[start:pos].lstrip("(")
            fields = ", ".join(f"{f}:" for f in FIELDS)
            return QuerySyntaxError(
                f"unknown field '{name}:' (fields: {fields})", query, (column or 1) - len(name)
            )
        return QuerySyntaxError(f"unexpected '{char}'", query, column)
    if isinstance(err, UnexpectedToken | UnexpectedEOF):
        token = getattr(err, "token", None)
        if token is None or token.type == "$END":
            if query.count("(") > query.count(")"):
                return QuerySyntaxError("missing ')'", query, len(query.rstrip()) + 1)
            return QuerySyntaxError(
                "the query ends where a word, phrase or '(' was expected",
                query,
                len(query.rstrip()) + 1,
            )
        if token.type == "RPAR":
            return QuerySyntaxError("unexpected ')' (no '(' to close)", query, column)
        return QuerySyntaxError(f"unexpected '{token}' here", query, column)
    return QuerySyntaxError(str(err).splitlines()[0], query, column)  # pragma: no cover


def parse_query(query: str, lists: dict[str, Node] | None = None) -> Node:
    """Parse `query`; raises QuerySyntaxError with the column of the problem."""
    if not query or not query.strip():
        raise QuerySyntaxError("the query is empty", query or "", 1)
    if "\n" in query.strip():
        query = " ".join(query.split())
    try:
        tree = _PARSER.parse(query)
    except UnexpectedInput as err:
        raise _explain(err, query) from None
    try:
        if isinstance(tree, Token):  # a lone word is returned as a token-less tree
            raise QuerySyntaxError("unexpected input", query, 1)  # pragma: no cover
        return _within_depth(_ToAst(query, lists or {}).transform(tree), query)
    except QuerySyntaxError:
        raise
    except RecursionError:
        raise _too_deep(query) from None
    except Exception as err:  # lark wraps errors raised in callbacks
        inner = getattr(err, "orig_exc", None)
        if isinstance(inner, QuerySyntaxError):
            raise inner from None
        if isinstance(inner, RecursionError):
            raise _too_deep(query) from None
        raise


# Matching, snippets and explanations walk the query recursively: a query nested deeper
# than any person writes (thousands of NOTs or parentheses) is refused here, in one line.
MAX_DEPTH = 100


def _too_deep(query: str) -> QuerySyntaxError:
    return QuerySyntaxError(
        f"the query is nested too deeply (more than {MAX_DEPTH} levels of parentheses, "
        "NOT or NEAR); write it flatter",
        query,
        1,
    )


def _within_depth(node: Node, query: str) -> Node:
    """`node` if its nesting stays within MAX_DEPTH (checked without recursion)."""
    stack: list[tuple[Node, int]] = [(node, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _too_deep(query)
        if isinstance(current, Not):
            stack.append((current.child, depth + 1))
        elif isinstance(current, Near):
            stack += [(current.left, depth + 1), (current.right, depth + 1)]
        elif isinstance(current, And | Or):
            stack += [(child, depth + 1) for child in current.children]
    return node


def patterns(node: Node, *, positive: bool = True) -> list[Pattern]:
    """The patterns of a query; with positive=True only those not under a NOT."""
    if isinstance(node, Pattern):
        return [node]
    if isinstance(node, Not):
        return [] if positive else patterns(node.child, positive=False)
    if isinstance(node, Near | Within):
        return patterns(node.left, positive=positive) + patterns(node.right, positive=positive)
    return [p for child in node.children for p in patterns(child, positive=positive)]
