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


class TokenSpans(Sequence[tuple[int, int]]):
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

    @overload
    def __getitem__(self, index: int) -> tuple[int, int]: ...

    @overload
    def __getitem__(self, index: slice) -> list[tuple[int, int]]: ...

    def __getitem__(self, index: int | slice) -> tuple[int, int] | list[tuple[int, int]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._size))]
        if index < 0:
            index += self._size
        if not 0 <= index < self._size:
            raise IndexError(index)
        return self._ends[2 * index], self._ends[2 * index + 1]


def token_spans(text: str, count: int | None = None) -> TokenSpans:
    """Character spans of the (first `count`) words of `text`, as `words(text)` splits it."""
    return TokenSpans(text, count)
