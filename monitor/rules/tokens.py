"""Words as rules see them: case-, accent- and punctuation-insensitive, with offsets.

`U.S.-ROK`, `US-ROK` and `us rok` all become the tokens `us`, `rok`; `Biegun's` becomes
`biegun`, `s`; `Müller` becomes `muller`. Documents and queries go through the same
steps, so a query word matches whatever the page printed:

1. fold: lower-case (casefold) and drop accents (NFKD, combining marks removed);
2. drop every dot ("U.S." → "us"; a sentence's final dot is followed by a space anyway);
3. the tokens are the runs of letters and digits.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right, insort
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import overload

_TOKEN = re.compile(r"[^\W_]+")
# In ASCII text a word is letters and digits, possibly joined by dots ("U.S.", "e.g").
_ASCII_WORD = re.compile(r"[A-Za-z0-9]+(?:\.+[A-Za-z0-9]+)*")
_ASCII_SPLIT = re.compile(r"([A-Za-z0-9]+(?:\.+[A-Za-z0-9]+)*)")
# ASCII fast path: every ASCII character that is not a letter or digit becomes a space.
_ASCII_SEPARATORS = str.maketrans(
    {chr(c): " " for c in range(128) if not chr(c).isalnum() and chr(c) != "."}
)


@dataclass(frozen=True, slots=True)
class Token:
    """A normalised word and where it stands in the original text."""

    text: str
    start: int
    end: int


def _fold_char(ch: str) -> str:
    decomposed = unicodedata.normalize("NFKD", ch.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", stripped)  # Hangul syllables stay whole


class _FoldTable(dict[int, str]):
    """str.translate table that folds each character once, then remembers it."""

    def __missing__(self, code: int) -> str:
        folded = self[code] = _fold_char(chr(code))
        return folded


_FOLD = _FoldTable()


def fold(text: str) -> str:
    """Lower-case and strip accents (ü → u), character by character."""
    if text.isascii():
        return text.lower()
    return text.translate(_FOLD)


def words(text: str) -> list[str]:
    """The normalised words of `text` (the fast path: no offsets)."""
    folded = fold(text).replace(".", "")
    if folded.isascii():
        return folded.translate(_ASCII_SEPARATORS).split()
    return _TOKEN.findall(folded)


def tokenize(text: str) -> list[Token]:
    """The same words as `words(text)`, with their character offsets in `text`."""
    if text.isascii():
        out: list[Token] = []
        for m in _ASCII_WORD.finditer(text):
            start, end, word = m.start(), m.end(), m.group()
            if "." in word:
                word = word.replace(".", "")
            out.append(Token(word.lower(), start, end))
        return out
    folded: list[str] = []
    origin: list[int] = []
    for index, ch in enumerate(text):
        for folded_ch in ch.translate(_FOLD):
            folded.append(folded_ch)
            origin.append(index)
    kept = [i for i, ch in enumerate(folded) if ch != "."]
    joined = "".join(folded[i] for i in kept)
    origin = [origin[i] for i in kept]
    tokens: list[Token] = []
    for m in _TOKEN.finditer(joined):
        start, end = origin[m.start()], origin[m.end() - 1] + 1
        tokens.append(Token(m.group(), start, end))
    return tokens


class Spans(Sequence[tuple[int, int]]):
    """Character spans found on demand: a subclass gives `__len__` and `span(index)`."""

    def span(self, index: int) -> tuple[int, int]:
        raise NotImplementedError

    @overload
    def __getitem__(self, index: int) -> tuple[int, int]: ...

    @overload
    def __getitem__(self, index: slice) -> list[tuple[int, int]]: ...

    def __getitem__(self, index: int | slice) -> tuple[int, int] | list[tuple[int, int]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        size = len(self)
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError(index)
        return self.span(index)


class TokenSpans(Spans):
    """Character spans of a text's words, computed in C and read on demand."""

    def __init__(self, text: str, count: int | None = None) -> None:
        if text.isascii():
            # re.split + accumulate run in C: [before, word1, between, word2, …] → offsets.
            pieces = _ASCII_SPLIT.split(text, maxsplit=count or 0)
            self._ends = list(accumulate(map(len, pieces)))
            self._size = (len(pieces) - 1) // 2
        else:  # ends[2i], ends[2i + 1] must be token i's start and end
            self._ends = [x for t in tokenize(text) for x in (t.start, t.end)]
            self._size = len(self._ends) // 2
        if count is not None:
            self._size = min(self._size, count)

    def __len__(self) -> int:
        return self._size

    def span(self, index: int) -> tuple[int, int]:
        return self._ends[2 * index], self._ends[2 * index + 1]


def token_spans(text: str, count: int | None = None) -> TokenSpans:
    """Character spans of the (first `count`) words of `text`, as `words(text)` splits it."""
    return TokenSpans(text, count)


# A run of dots standing alone ("end . Next", "…") is no word: such texts take the slow path.
_LONE_DOTS = re.compile(r"(?:^| )\.+(?: |$)")


class LazySpans(Spans):
    """The spans `token_spans(text)` gives, found only for the words asked for.

    Snippets need the offsets of a few matched words; finding every word's offsets costs
    more than matching. In ASCII text every separator becomes a space (the length stays),
    so word i is the i-th space-separated piece, less its leading and trailing dots; pieces
    are skipped with `str.split(None, n)`, in C, from the nearest word already found.
    """

    def __init__(self, text: str, size: int | None = None) -> None:
        """`size`, if given, must be `len(words(text))` (the matcher knows it already)."""
        spaced = text.translate(_ASCII_SEPARATORS) if text.isascii() else ""
        self._full: TokenSpans | None = None
        lone_dots = spaced[:1] == "." or (" ." in spaced and _LONE_DOTS.search(spaced))
        if not spaced or lone_dots:
            self._full = TokenSpans(text)
            self._size = len(self._full)
        else:
            self._size = len(spaced.split()) if size is None else size
        self._spaced = spaced
        self._found: dict[int, tuple[int, int]] = {}
        self._anchors = [0]  # indices of found words, sorted; 0 stands for the text's start
        self._starts = {0: 0}  # index → character position from which to skip to that word

    def __len__(self) -> int:
        return self._size

    @property
    def spaced(self) -> str | None:
        """The text with every separator a space, whose space-separated pieces are exactly
        its words (None for texts that take the slow path)."""
        return None if self._full is not None else self._spaced

    def _span(self, index: int) -> tuple[int, int]:
        found = self._found.get(index)
        if found is not None:
            return found
        spaced = self._spaced
        anchor = self._anchors[bisect_right(self._anchors, index) - 1]
        position = self._starts[anchor]
        rest = spaced[position:].split(None, index - anchor)[-1]
        start = len(spaced) - len(rest)
        end = spaced.find(" ", start)
        end = len(spaced) if end < 0 else end
        piece = spaced[start:end]
        found = (start + len(piece) - len(piece.lstrip(".")), start + len(piece.rstrip(".")))
        self._found[index] = found
        insort(self._anchors, index)
        self._starts[index] = start
        return found

    def span(self, index: int) -> tuple[int, int]:
        return self._full.span(index) if self._full is not None else self._span(index)
