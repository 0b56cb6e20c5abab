"""The sentence around a match, trimmed, with the matched words' positions."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from itertools import repeat

MAX_SNIPPET = 300
# A full stop after these is not the end of a sentence ("U.S. Special Representative").
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr st gen lt col sen rep gov no jan feb mar apr jun jul aug sep sept oct nov dec "
    "amb adm capt cmdr sgt prof vs etc inc corp co jr sr dept univ".split()
)
_INITIALS = re.compile(r"(?:[a-z]\.)*[a-z]")
# `[.!?][…]*\s+|\n\s*\n`, written to begin with one character class: the regex engine then
# skips to candidate characters in C instead of trying both branches at every character.
# Group 1 is the whitespace after a full stop: where that sentence's trimmed span ends.
_BOUNDARY = re.compile(r"[.!?\n](?:(?<=[.!?])[\"'”’)\]]*(\s+)|(?<=\n)\s*\n)")
_LONGEST_ABBREVIATION = max(map(len, _ABBREVIATIONS))
_OPENERS = "(\"'“‘"  # left out of the word before a stop


def _not_a_stop(bare: str) -> bool:
    """Whether the word before a full stop is an abbreviation or initials ("Mr", "u.s")."""
    if len(bare) > _LONGEST_ABBREVIATION and bare[1:2] != ".":
        return False  # too long for an abbreviation, and not initials: skip the lookups
    bare = bare.lower()
    return bare in _ABBREVIATIONS or _INITIALS.fullmatch(bare) is not None


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of `text` (abbreviations and initials respected).

    Each sentence ends before its trailing space; sentences of only spaces are dropped.
    """
    return list(iter_sentence_spans(text))


def iter_sentence_spans(text: str) -> Iterator[tuple[int, int]]:
    """`sentence_spans(text)` one by one, from the start: a snippet near the top of a long
    text needs only the first few."""
    start = 0
    rfind = text.rfind
    lines = "\n" in text
    for match in _BOUNDARY.finditer(text):
        pos = match.start()
        char = text[pos]
        if char == ".":
            space = (
                max(rfind(" ", start, pos), rfind("\n", start, pos))
                if lines
                else rfind(" ", start, pos)
            )
            bare = text[space + 1 : pos]
            # Most words before a stop are too long for an abbreviation and are no initials.
            short = len(bare) <= _LONGEST_ABBREVIATION or bare[1:2] == "." or bare[0] in _OPENERS
            if short and _not_a_stop(bare.lstrip(_OPENERS)):
                continue  # "Mr.", "U.S.", "E." (an initial)
        end = match.end()
        if char != "\n":
            nxt = text[end : end + 1]
            if nxt and nxt.islower():
                continue
            # The sentence ends before the whitespace after its stop (and quotes).
            yield start, match.start(1)
        else:  # a paragraph break: trim the spaces before it, if any text is left
            trimmed = start + len(text[start:pos].rstrip())
            if trimmed > start:
                yield start, trimmed
        start = end
    if start < len(text):
        trimmed = start + len(text[start:].rstrip())
        if trimmed > start:
            yield start, trimmed


# Characters a boundary match can hold: a stop or newline, closing quotes, whitespace.
_IN_BOUNDARY = frozenset(".!?\n\"'”’)]")
_UNKNOWN = (-1, -1)  # sentence_at's window held no boundary that ends a sentence for sure


def _is_stop(text: str, word_start: int, pos: int) -> bool:
    """Whether the full stop at `pos` may end a sentence, the word before it starting at
    `word_start` (as `iter_sentence_spans` decides: not after an abbreviation or initials)."""
    bare = text[word_start:pos]
    short = len(bare) <= _LONGEST_ABBREVIATION or bare[1:2] == "." or bare[0] in _OPENERS
    return not (short and _not_a_stop(bare.lstrip(_OPENERS)))


def sentence_at(text: str, position: int) -> tuple[int, int] | None:
    """The span of `sentence_spans(text)` that holds `position` (None if none does), found
    from the text before and around it, not from a split of the whole text.

    `iter_sentence_spans` carries one thing from sentence to sentence: where the current one
    began, which decides only whether a stop's word is the sentence's first. A boundary
    that ends a sentence whatever that is (a paragraph break, "!", "?", or a stop after a
    word that is no abbreviation, with or without the text before it) fixes where the next
    sentence begins: the split is taken up from the last such boundary before `position`.
    """
    # First from the word before the last stop (or break) before the place: that stop most
    # often ends the sentence before; else from further back.
    last = max(map(text.rfind, ".!?\n", repeat(0), repeat(position)))
    found = _sentence_from(text, position, max(0, last - _LONGEST_ABBREVIATION - 2))
    back = 300
    while found == _UNKNOWN:
        found = _sentence_from(text, position, max(0, position - back))
        back *= 4
    return found


def _sentence_from(text: str, position: int, lo: int) -> tuple[int, int] | None:
    """`sentence_at`, taking up the split at `lo` (_UNKNOWN if that is too late)."""
    if lo > 0:  # begin where no boundary match can stand, so the matches from there agree
        while lo < position and (text[lo] in _IN_BOUNDARY or text[lo].isspace()):
            lo += 1
        if lo >= position:
            return _UNKNOWN
    lines = "\n" in text
    rfind = text.rfind
    start = 0 if lo == 0 else -1  # -1: not known yet (at most lo, or an undecided end)
    latest = lo  # the latest place the current sentence may have begun, while unknown
    for match in _BOUNDARY.finditer(text, lo):
        pos = match.start()
        char = text[pos]
        end = match.end()
        if char != "\n":
            nxt = text[end : end + 1]
            if nxt and nxt.islower():
                continue  # no sentence ends here, whatever came before
        if char == ".":
            space = max(rfind(" ", 0, pos), rfind("\n", 0, pos)) if lines else rfind(" ", 0, pos)
            if start >= 0:
                stop = _is_stop(text, space + 1 if space >= start else 0, pos)
            else:
                stop = _is_stop(text, space + 1, pos)
                if space < latest and stop != _is_stop(text, 0, pos):
                    latest = end  # ends a sentence or not, depending on where it began
                    continue
            if not stop:
                continue
        if start < 0:  # the first boundary that surely ends a sentence: the next begins here
            if position < end:
                return _UNKNOWN
            start = latest = end
            continue
        if char != "\n":
            sentence = (start, match.start(1))
        else:
            sentence = (start, start + len(text[start:pos].rstrip()))
        if position < end:
            return sentence if sentence[0] <= position < sentence[1] else None
        start = end
    if start < 0:
        return _UNKNOWN
    sentence = (start, start + len(text[start:].rstrip()))
    return sentence if sentence[0] <= position < sentence[1] else None


_WINDOW = 400
MAX_HITS = 12  # sentences looked for around the first hits (by term, then place)


def _sentence_around(
    text: str, position: int, sentences: Sequence[tuple[int, int]] | None = None
) -> tuple[int, int]:
    """The span of the sentence holding `position`, within a window around it.

    `sentences` are the text's `sentence_spans` when the caller has them (the matcher splits
    a document once for all its rules); else the window alone is split.
    """
    lo = max(0, position - _WINDOW)
    hi = min(len(text), position + _WINDOW)
    if sentences:
        index = bisect_right(sentences, (position, len(text))) - 1
        if index >= 0 and sentences[index][0] <= position < sentences[index][1]:
            start, end = sentences[index]
            start = max(start, lo)
            if end > hi:  # as the window's last sentence: up to the window, less its spaces
                end = start + len(text[start:hi].rstrip())
            return start, end
    for start, end in sentence_spans(text[lo:hi]):
        if lo + start <= position < lo + end or lo + end >= hi:
            return lo + start, lo + end
    return position, min(len(text), position + _WINDOW)


def build_snippet(
    text: str,
    spans: Sequence[tuple[int, int]],
    hits: Sequence[tuple[str, int, int]],
    limit: int = MAX_SNIPPET,
    sentences: Sequence[tuple[int, int]] | None = None,
) -> tuple[str, list[tuple[int, int]]]:
    """(snippet, highlights) for hits given as (term key, first token, end token).

    `spans` are the character spans of the text's tokens (`tokens.token_spans`);
    `sentences`, if given, the text's `sentence_spans`.

    The sentence holding the most different matched terms wins (the earliest on a tie);
    a long sentence is cut around its first hit at word boundaries, marked with '…'.
    """
    if not hits:
        return "", []
    char_hits = [
        (key, spans[s][0], _dotted_end(text, spans[s][0], spans[e - 1][1])) for key, s, e in hits
    ]
    # Only the sentences that hold a hit matter; find them in a window around each hit.
    around = list(
        dict.fromkeys(
            _sentence_around(text, s, sentences) for _, s, _ in sorted(char_hits)[:MAX_HITS]
        )
    ) or [(0, len(text))]

    def score(span: tuple[int, int]) -> tuple[int, int]:
        inside = {key for key, s, e in char_hits if s >= span[0] and e <= span[1]}
        return (len(inside), -span[0])

    start, end = max(around, key=score)
    inside = sorted((s, e) for _, s, e in char_hits if s >= start and e <= end)
    if not inside:  # a hit that spans sentences: show from it
        first = min(s for _, s, _ in char_hits)
        start, end = first, min(len(text), first + limit)
        inside = sorted((s, e) for _, s, e in char_hits if s >= start and e <= end)
    prefix = suffix = ""
    if start > 0 and not _starts_sentence(text, start):
        prefix = "…"  # the window cut a very long sentence
    if end - start > limit:
        focus = inside[0][0] if inside else start
        new_start = max(start, focus - limit // 3)
        if new_start > start:
            new_start = text.find(" ", new_start) + 1 or new_start
            prefix = "…"
        new_end = min(end, new_start + limit)
        if new_end < end:
            cut = text.rfind(" ", new_start, new_end)
            new_end = cut if cut > new_start else new_end
            suffix = "…"
        start, end = new_start, new_end
    body = text[start:end].strip()
    shift = start + (len(text[start:end]) - len(text[start:end].lstrip())) - len(prefix)
    highlights = [(s - shift, e - shift) for s, e in inside if s >= start and e <= end]
    return prefix + body + suffix, _merge(highlights)


def _dotted_end(text: str, start: int, end: int) -> int:
    """ "U.S." keeps its last dot when highlighted; "Steven T. Mnuchin." does not."""
    last_word = text[start:end].rsplit(None, 1)[-1]
    if end < len(text) and text[end] == "." and "." in last_word:
        return end + 1
    return end


def _starts_sentence(text: str, start: int) -> bool:
    before = text[max(0, start - 3) : start].rstrip()
    return not before or before[-1] in ".!?\"'”’)]\n"


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged
