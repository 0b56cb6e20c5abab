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
from dataclasses import dataclass

_TOKEN = re.compile(r"[^\W_]+")
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
    folded: list[str] = []
    origin: list[int] = []
    if text.isascii():
        folded, origin = list(text.lower()), list(range(len(text)))
    else:
        for index, ch in enumerate(text):
            for folded_ch in ch.translate(_FOLD):
                folded.append(folded_ch)
                origin.append(index)
    kept = [i for i, ch in enumerate(folded) if ch != "."]
    joined = "".join(folded[i] for i in kept)
    origin = [origin[i] for i in kept]
    out: list[Token] = []
    for m in _TOKEN.finditer(joined):
        start, end = origin[m.start()], origin[m.end() - 1] + 1
        if end < len(text) and text[end] == "." and "." in text[start:end]:
            end += 1  # "U.S." keeps its last dot
        out.append(Token(m.group(), start, end))
    return out
