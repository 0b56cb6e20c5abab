"""Snippets: the sentence around a match, found from the document's shared sentence split."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.rules.snippets import build_snippet, sentence_spans
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
