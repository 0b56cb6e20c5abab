from __future__ import annotations

from random import Random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.rules.tokens import LazySpans, token_spans, tokenize, words

CASES = [
    ("U.S.-ROK Working Group", ["us", "rok", "working", "group"]),
    ("US-ROK", ["us", "rok"]),
    ("Biegun's visit.", ["biegun", "s", "visit"]),
    ("Stephen E. Biegun", ["stephen", "e", "biegun"]),
    ("Müller in Zürich", ["muller", "in", "zurich"]),
    ("KIM JONG UN", ["kim", "jong", "un"]),
    ("통일부, 남북 철도", ["통일부", "남북", "철도"]),
    ("snake_case", ["snake", "case"]),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_words_ignore_case_accents_and_punctuation(text: str, expected: list[str]) -> None:
    assert words(text) == expected


def test_offsets_point_at_the_printed_words() -> None:
    text = "Sanctions on the U.S.-ROK alliance; Müller said."
    assert [text[t.start : t.end] for t in tokenize(text)] == [
        "Sanctions",
        "on",
        "the",
        "U.S",
        "ROK",
        "alliance",
        "Müller",
        "said",
    ]


@given(st.text())
def test_tokenize_and_words_always_agree(text: str) -> None:
    tokens = tokenize(text)
    assert [t.text for t in tokens] == words(text)
    assert all(0 <= t.start < t.end <= len(text) for t in tokens)
    assert list(token_spans(text)) == [(t.start, t.end) for t in tokens]


@given(st.one_of(st.text(alphabet="ab9.,- '\n\tUS()"), st.text()))
def test_lazy_spans_agree_with_token_spans(text: str) -> None:
    expected = list(token_spans(text))
    lazy = LazySpans(text)
    assert len(lazy) == len(expected)
    # Asked for out of order, as snippets and moods ask: each answer is the same.
    for index in [*range(len(expected) - 1, -1, -2), *range(len(expected))]:
        assert lazy[index] == expected[index]


def test_lazy_spans_of_ascii_words_with_dots() -> None:
    text = "The U.S. and ROK . met ... again.Now .5 a..b (e.g. Mr. Biegun)."
    assert list(LazySpans(text)) == list(token_spans(text))


@given(st.text(alphabet="ab9.,- '\n\tUS()!?"))
def test_the_spaced_text_holds_the_words_of_every_sentence(text: str) -> None:
    # The matcher counts each sentence's words in the spaced text (phrases stay in one).
    from monitor.rules.snippets import sentence_spans

    spaced = LazySpans(text).spaced
    if spaced is None:
        return
    for start, end in sentence_spans(text):
        assert len(spaced[start:end].split()) == len(words(text[start:end]))


@given(
    st.lists(
        st.sampled_from(["a", "bb", "w" * 90, " " * 70, "U.S.", "-", "x.y", "  ", ".a."]),
        max_size=300,
    ),
    st.randoms(),
)
def test_lazy_spans_agree_across_long_words_and_gaps(pieces: list[str], rng: Random) -> None:
    # Long words and runs of separators overflow the window a word is first looked for in;
    # words far from those found come from the table of every word.
    text = " ".join(pieces)
    expected = list(token_spans(text))
    lazy = LazySpans(text)
    order = list(range(len(expected)))
    rng.shuffle(order)
    assert [lazy[i] for i in order] == [expected[i] for i in order]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["a", "ab", "b", "ba", "U.S.", "us", "x.y", "xy", ".", "..", "É"]),
        max_size=60,
    ),
    st.sampled_from([" ", ", ", ".  ", "\n"]),
)
def test_word_positions_and_offsets_agree_with_the_whole_text_s(
    pieces: list[str], sep: str
) -> None:
    # The matcher finds a word's places with str.find on joined words and on the text: they
    # must be list positions and token_spans, whatever dots, cases and accents stand in it.
    from datetime import UTC, datetime

    from monitor.models import Document
    from monitor.rules.matcher import _Doc

    text = sep.join(pieces)
    document = Document(
        id="d",
        source_id="s",
        url="https://e.org/",
        title="t",
        body=text,
        content_hash="h",
        fetched_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    doc = _Doc.of(document)
    tokens = doc.tokens["body"]
    for word in set(tokens):
        assert doc.positions("body", word) == [i for i, t in enumerate(tokens) if t == word]
    assert [doc.char_span("body", i) for i in range(len(tokens))] == list(token_spans(text))
