"""What a document must contain for a query to match it: the pre-filter of a backtest.

`required(query)` is a condition on the words of a document's fields that every document the
query matches satisfies. It is weaker than the query: NOT, NEAR, SENT/PARA, the order of a
phrase's words and the moods a rule excludes are left to the matcher. A full-text index of
the stored documents (`store.textindex`) finds the documents that satisfy it, and the matcher
decides on those, so a backtest returns what matching every stored document would.

    "special representative" AND NOT envoy   →  special AND representative (title or body)
    sanction* NEAR/8 (lift* OR eas*)          →  sanction* AND (lift* OR eas*)
    title:biegun OR author:pompeo             →  title:biegun OR author:pompeo
    NOT envoy                                 →  None (any document may match)
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.rules.query import And, Near, Node, Not, Or, Pattern, Within

# The fields a word without `field:` is searched in (the matcher's DEFAULT_FIELDS).
DEFAULT_FIELDS = ("title", "body")
# Past this many terms a condition costs the index more than reading the documents does.
MAX_TERMS = 1000


@dataclass(frozen=True)
class Term:
    """A normalised word (`tokens.words`), or the start of one, in one of `fields`."""

    text: str
    prefix: bool
    fields: tuple[str, ...]


@dataclass(frozen=True)
class AllOf:
    children: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    children: tuple[Condition, ...]


Condition = Term | AllOf | AnyOf


def required(node: Node) -> Condition | None:
    """A condition every document matching `node` satisfies; None when any document may."""
    found = _required(node)
    return found if found is not None and _size(found) <= MAX_TERMS else None


def _required(node: Node) -> Condition | None:
    if isinstance(node, Pattern):
        fields = (node.field,) if node.field else DEFAULT_FIELDS
        terms = tuple(dict.fromkeys(Term(t, p, fields) for t, p in node.parts))
        return terms[0] if len(terms) == 1 else AllOf(terms)
    if isinstance(node, Not):
        return None  # a document without the word may match; one with it may not
    if isinstance(node, Or):
        options = [_required(c) for c in node.children]
        if any(o is None for o in options):
            return None
        return _flat(AnyOf, options)  # type: ignore[arg-type]
    sides = node.children if isinstance(node, And) else (node.left, node.right)
    assert isinstance(node, And | Near | Within)
    needed = [n for n in (_required(c) for c in sides) if n is not None]
    return _flat(AllOf, needed) if needed else None


def _flat(kind: type[AllOf] | type[AnyOf], items: list[Condition]) -> Condition:
    flat: list[Condition] = []
    for item in items:
        flat.extend(item.children if isinstance(item, kind) else (item,))
    unique = tuple(dict.fromkeys(flat))
    return unique[0] if len(unique) == 1 else kind(unique)


def _size(condition: Condition) -> int:
    if isinstance(condition, Term):
        return 1
    return sum(_size(c) for c in condition.children)
