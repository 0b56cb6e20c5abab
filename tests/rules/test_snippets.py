"""Snippets: the sentence around a match, found from the document's shared sentence split."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.rules.snippets import build_snippet, sentence_at, sentence_spans
from monitor.rules.tokens import token_spans

PIECES = ["Mr.", "U.S.", "sanctions", "lifted", "e.g.", "said.", "Why?", "\n\n", "(", ")", "”"]
PIECES += ["E.", "etc.", "\t", "x" * 40, "word" * 60]  # initials, tabs, long words and sentences


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from(PIECES) | st.text("ab .!?\n", max_size=6), min_size=50, max_size=400),
    st.integers(min_value=0, max_value=400),
)
def test_the_shared_sentence_split_gives_the_snippet_a_window_gives(
    pieces: list[str], first: int
) -> None:
    # Splitting a document once for all its rules must not change what a snippet shows.
    text = " ".join(pieces)
    spans = token_spans(text)
    if not spans:
        return
    hits = [("t", i, i + 1) for i in range(first % len(spans), len(spans), 37)]
    alone = build_snippet(text, spans, hits)
    shared = build_snippet(text, spans, hits, sentences=sentence_spans(text))
    assert shared == alone


def _reference_sentence_spans(text: str) -> list[tuple[int, int]]:
    """The sentence split as first written (slow and plain): the fast one must agree."""
    import re

    boundary = re.compile(r"[.!?\n](?:(?<=[.!?])[\"'”’)\]]*\s+|(?<=\n)\s*\n)")
    abbreviations = set(
        "mr mrs ms dr st gen lt col sen rep gov no jan feb mar apr jun jul aug sep sept oct nov "
        "dec amb adm capt cmdr sgt prof vs etc inc corp co jr sr dept univ".split()
    )
    spans, start = [], 0
    for match in boundary.finditer(text):
        pos = match.start()
        if text[pos] == ".":
            space = max(text.rfind(" ", start, pos), text.rfind("\n", start, pos))
            bare = text[space + 1 : pos].lstrip("(\"'“‘").lower()
            if bare in abbreviations or re.fullmatch(r"(?:[a-z]\.)*[a-z]", bare):
                continue
        if text[pos] != "\n":
            nxt = text[match.end() : match.end() + 1]
            if nxt and nxt.islower():
                continue
        spans.append((start, match.end()))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    out = []
    for s, e in spans:
        e = s + len(text[s:e].rstrip())
        if e > s:
            out.append((s, e))
    return out


SPLIT_PIECES = PIECES + ["Dept.", "Univ.", "A.B.C.", "(Mr.", "Xy.", "İ.", "end.\u00a0", " \n \n"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(SPLIT_PIECES) | st.text("aB .!?\n\t\u00a0\"')”Mr", max_size=8),
        max_size=60,
    ),
    st.sampled_from([" ", "", "\n"]),
)
def test_the_sentence_split_agrees_with_the_plain_reference(pieces: list[str], sep: str) -> None:
    text = sep.join(pieces)
    assert sentence_spans(text) == _reference_sentence_spans(text)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from(SPLIT_PIECES) | st.text("aB .!?\n\t\u00a0\"')”Mr", max_size=8),
        min_size=20,
        max_size=400,
    ),
    st.sampled_from([" ", "", "\n"]),
    st.integers(min_value=1, max_value=60),
)
def test_the_sentence_at_a_place_is_the_whole_split_s(
    pieces: list[str], sep: str, step: int
) -> None:
    # Snippets find the sentences of their hits around them, taking the split up from a
    # boundary that ends a sentence whatever came before: it must be the whole split's.
    text = sep.join(pieces)
    spans = sentence_spans(text)
    for position in range(0, len(text), step):
        expected = next((s for s in spans if s[0] <= position < s[1]), None)
        assert sentence_at(text, position) == expected
