"""Mood cues: which hits stand in questions, under negation or in a condition."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from monitor.rules.mood import MOODS, TextMoods, question_turns
from monitor.rules.snippets import sentence_spans

ROWS = yaml.safe_load((Path(__file__).parent / "moods.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("row", ROWS, ids=[r["text"][:60] for r in ROWS])
def test_mood_of_the_bracketed_word(row: dict[str, object]) -> None:
    marked = str(row["text"])
    position = marked.index("[")
    text = marked.replace("[", "").replace("]", "")
    moods = TextMoods(text, sentence_spans(text))
    found = {r.mood for r in moods.reasons(position, frozenset(MOODS))}
    assert found == set(row["moods"]), moods.reasons(position, frozenset(MOODS))  # type: ignore[arg-type]


def test_only_the_asked_for_moods_are_reported() -> None:
    text = "Will the United States consider lifting sanctions?"
    moods = TextMoods(text, sentence_spans(text))
    position = text.index("lifting")
    assert [r.mood for r in moods.reasons(position, frozenset({"negated"}))] == []
    assert [r.mood for r in moods.reasons(position, frozenset({"conditional"}))] == ["conditional"]


def test_a_reporters_turn_runs_to_the_next_speaker_label() -> None:
    text = (
        "MR. PRICE: Good afternoon. QUESTION: Two questions. First, relief. Second, waivers. "
        "MR. PRICE: On the first, we designated two banks. QUESTION: Follow-up."
    )
    turns = [text[s:e].strip() for s, e in question_turns(text)]
    assert turns == [
        "QUESTION: Two questions. First, relief. Second, waivers.",
        "QUESTION: Follow-up.",
    ]
