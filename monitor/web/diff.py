"""A word-level diff between two versions of a text, as the document page shows it.

The texts are first compared line by line (paragraphs), then the words of the lines that
changed are compared (difflib on word tokens, whitespace kept with the word before it), so
a long document costs little and an edit in one paragraph never pairs words from another.
`render` marks the result up (<ins>/<del>, every piece escaped: scraped text is hostile);
`hunks` keeps only the changes, each with a few words of context.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

from markupsafe import Markup, escape

Kind = Literal["equal", "insert", "delete"]
_WORD = re.compile(r"\S+\s*|\s+")
CONTEXT = 6  # words shown on either side of a change in "only the changes"
EXACT_PAIRS = 4_000_000  # word pairs compared exactly in one changed block


@dataclass(frozen=True)
class Piece:
    kind: Kind
    text: str


def _words(text: str) -> list[str]:
    """Tokens that join back into `text`: each word with the whitespace after it."""
    return _WORD.findall(text)


def _append(out: list[Piece], kind: Kind, tokens: list[str]) -> None:
    for token in tokens:
        out.append(Piece(kind, token))


def _word_diff(a: list[str], b: list[str], out: list[Piece]) -> None:
    keys_a = [t.strip() for t in a]
    keys_b = [t.strip() for t in b]
    # The words both ends share are kept as they are (linear), so a long paragraph with
    # one edit costs little; what is left is compared exactly unless it is huge.
    head = 0
    while head < min(len(a), len(b)) and keys_a[head] == keys_b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and keys_a[-1 - tail] == keys_b[-1 - tail]:
        tail += 1
    _append(out, "equal", b[:head])
    mid_a, mid_b = keys_a[head : len(a) - tail], keys_b[head : len(b) - tail]
    # Beyond EXACT_PAIRS, difflib's heuristic for frequent words keeps a hostile page
    # (tens of thousands of changed words in one paragraph) from taking minutes.
    exact = len(mid_a) * len(mid_b) <= EXACT_PAIRS
    matcher = SequenceMatcher(None, mid_a, mid_b, autojunk=not exact)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        a1, a2, b1, b2 = a1 + head, a2 + head, b1 + head, b2 + head
        if op == "equal":
            _append(out, "equal", b[b1:b2])  # the new text's whitespace
        else:
            _append(out, "delete", a[a1:a2])
            _append(out, "insert", b[b1:b2])
    _append(out, "equal", b[len(b) - tail :])


def word_diff(old: str, new: str) -> list[Piece]:
    """`old` → `new` as word tokens, each kept, deleted or inserted (one token a piece)."""
    lines_a, lines_b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    out: list[Piece] = []
    matcher = SequenceMatcher(None, lines_a, lines_b, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            _append(out, "equal", _words("".join(lines_b[b1:b2])))
        elif op == "delete":
            _append(out, "delete", _words("".join(lines_a[a1:a2])))
        elif op == "insert":
            _append(out, "insert", _words("".join(lines_b[b1:b2])))
        else:
            _word_diff(_words("".join(lines_a[a1:a2])), _words("".join(lines_b[b1:b2])), out)
    return out


def changed(pieces: list[Piece]) -> bool:
    return any(p.kind != "equal" and p.text.strip() for p in pieces)


def counts(pieces: list[Piece]) -> tuple[int, int]:
    """(words inserted, words deleted)."""
    inserted = sum(1 for p in pieces if p.kind == "insert" and p.text.strip())
    deleted = sum(1 for p in pieces if p.kind == "delete" and p.text.strip())
    return inserted, deleted


def runs(pieces: list[Piece]) -> list[Piece]:
    """Adjacent pieces of one kind joined (one <ins> per run, not one per word)."""
    runs: list[Piece] = []
    for piece in pieces:
        if runs and runs[-1].kind == piece.kind:
            runs[-1] = Piece(piece.kind, runs[-1].text + piece.text)
        else:
            runs.append(piece)
    return runs


def render(pieces: list[Piece]) -> Markup:
    """The pieces as HTML: deleted words in <del>, inserted in <ins>, all text escaped."""
    html = []
    for run in runs(pieces):
        if run.kind == "equal":
            html.append(escape(run.text))
        else:
            tag = "ins" if run.kind == "insert" else "del"
            html.append(Markup(f"<{tag}>{escape(run.text)}</{tag}>"))
    return Markup("").join(html)


def hunks(pieces: list[Piece], context: int = CONTEXT) -> list[list[Piece]]:
    """Only the changes: each group of changed words with `context` words either side;
    changes closer than twice the context share a group."""
    changes = [i for i, p in enumerate(pieces) if p.kind != "equal"]
    if not changes:
        return []
    groups: list[tuple[int, int]] = []
    for i in changes:
        start, end = max(0, i - context), min(len(pieces), i + 1 + context)
        if groups and start <= groups[-1][1]:
            groups[-1] = (groups[-1][0], end)
        else:
            groups.append((start, end))
    return [pieces[s:e] for s, e in groups]
