from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.rules.tokens import token_spans, tokenize, words

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
