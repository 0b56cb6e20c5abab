"""Mood: whether a word stands in a question, under a negation or in a condition.

A rule with `exclude: [questions, negated, conditional]` ignores hits that stand only in
such sentences ("Will there be any sanctions relief?", "He gave no sign that Washington was
prepared to ease sanctions", "if the North freezes its program, we would lift …"). The cues
are a short list of English words, tested from tests/rules/moods.yaml:

- questions: the sentence ends with '?'; it lies in a reporter's turn of a briefing
  transcript ("QUESTION: …" up to the next speaker label such as "MR. PRICE:"); or the
  hit follows "asked whether/if" (a reported question).
- negated: a negation ("not", "n't", "never", "no sign that", "ruled out", "refused to",
  "blocked a request" …) comes before the hit in its clause, or after it in the same phrase
  ("sanctions relief will not come"). A negation in a relative clause or after a comma
  ("Treasury designated X, which had not …") does not scope over the hit; "no longer" (a
  delisting) is not a negation.
- conditional: the sentence has a condition ("if", "unless", "in exchange for" …), or a
  modal or deliberation ("would", "could", "might", "consider", "prepared to" …) comes
  before the hit in its clause.

Clauses end at ';', ':', ' but ', ' while ' and dashes, so one clause's "not" leaves the
next clause alone.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

MOODS = ("questions", "negated", "conditional")

_WORDS = re.IGNORECASE
# A negation before the hit, within its clause.
_NEGATION = re.compile(
    r"\b(?:not|never|neither|nor|cannot|without|no(?! longer\b)(?=\s+[a-z])"
    r"|ruled? out|refus\w*|declin\w* to|reject\w*|den(?:y|ies|ied)"
    r"|(?:block|veto)\w* (?:(?:a|an|the) )?(?:\S+ ){0,3}(?:request|proposal|bid|move|attempt))\b"
    r"|n't\b",
    _WORDS,
)
# A negation after the hit negates it too ("sanctions relief will not come"), unless a
# comma or a relative pronoun starts another phrase first ("a firm that had not been …").
_NEW_PHRASE = re.compile(r",|\b(?:which|who|whose|that|after|before|since)\b", _WORDS)
# A condition anywhere in the sentence governs its main clause too.
_CONDITION = re.compile(
    r"\b(?:if|unless|in (?:exchange|return) for|provided that|as long as|on condition)\b",
    _WORDS,
)
# A modal or a deliberation before the hit, within its clause.
_HYPOTHETICAL = re.compile(
    r"\b(?:would|could|might|should|consider\w*|weigh\w*|mull\w*|threaten\w*|possib\w*"
    r"|potential\w*|(?:prepared|willing|ready|open) to|hope\w*|whether)\b",
    _WORDS,
)
_REPORTED_QUESTION = re.compile(r"\b(?:ask\w*|wonder\w*) (?:whether|if)\b", _WORDS)
_CLAUSE_END = re.compile(r"[;:—–]|\s-\s|\b(?:but|while|whereas)\b|, and\b", _WORDS)
# Speaker labels of briefing transcripts: "QUESTION:", "MR. PRICE:", "SECRETARY POMPEO:".
_SPEAKER = re.compile(r"(?:^|(?<=\s))((?:[A-Z][A-Z.'’-]* ){0,4}[A-Z][A-Z.'’-]+):(?=\s)")
_QUESTION_LABELS = frozenset({"QUESTION", "Q", "REPORTER", "JOURNALIST"})


@dataclass(frozen=True)
class Reason:
    """Why a hit is excluded: the mood and the cue that set it."""

    mood: str
    cue: str

    def __str__(self) -> str:
        return {
            "questions": f"in a question ({self.cue})",
            "negated": f"negated ('{self.cue}')",
            "conditional": f"conditional ('{self.cue}')",
        }[self.mood]


def _last_before(pattern: re.Pattern[str], text: str) -> str | None:
    found = None
    for match in pattern.finditer(text):
        found = match.group()
    return found


def mood_at(sentence: str, offset: int | None = None) -> list[Reason]:
    """The moods of a word at `offset` in `sentence` (None: the end of the sentence)."""
    offset = len(sentence) if offset is None else offset
    reasons: list[Reason] = []
    if sentence.rstrip().rstrip("\"'”’)]").endswith("?"):
        reasons.append(Reason("questions", "ends with '?'"))
    before = sentence[:offset]
    ends = list(_CLAUSE_END.finditer(before))
    clause = before[ends[-1].end() :] if ends else before
    reported = _last_before(_REPORTED_QUESTION, before)
    if reported and not any(r.mood == "questions" for r in reasons):
        reasons.append(Reason("questions", f"'{reported}'"))
    negation = _last_before(_NEGATION, clause) or _negation_after(sentence, offset)
    if negation:
        reasons.append(Reason("negated", negation))
    condition = _CONDITION.search(sentence) or _HYPOTHETICAL.search(clause)
    if condition:
        reasons.append(Reason("conditional", condition.group()))
    return reasons


def _negation_after(sentence: str, offset: int) -> str | None:
    """A negation later in the hit's own phrase, e.g. "sanctions relief will not come"."""
    rest = sentence[offset:]
    end = _CLAUSE_END.search(rest)
    rest = rest[: end.start()] if end else rest
    boundary = _NEW_PHRASE.search(rest)
    rest = rest[: boundary.start()] if boundary else rest
    found = _NEGATION.search(rest, pos=len(rest.split(" ", 1)[0]))  # not the hit itself
    return found.group() if found else None


def question_turns(text: str) -> list[tuple[int, int]]:
    """Character spans of the reporters' turns ("QUESTION: …") of a transcript."""
    turns: list[tuple[int, int]] = []
    start: int | None = None
    for match in _SPEAKER.finditer(text):
        if start is not None:
            turns.append((start, match.start()))
            start = None
        if match.group(1).rstrip(".") in _QUESTION_LABELS:
            start = match.start()
    if start is not None:
        turns.append((start, len(text)))
    return turns


class TextMoods:
    """Moods of positions in one text, sentence by sentence (as `sentence_spans` splits it)."""

    def __init__(self, text: str, sentences: list[tuple[int, int]]) -> None:
        self.text = text
        self.sentences = sentences or [(0, len(text))]
        self._starts = [s for s, _ in self.sentences]
        self._turns = question_turns(text) if ":" in text else []

    def sentence(self, position: int) -> tuple[int, int]:
        """The span of the sentence holding `position`."""
        index = max(0, bisect_right(self._starts, position) - 1)
        return self.sentences[index]

    def reasons(self, position: int, excluded: frozenset[str]) -> list[Reason]:
        """Why a word starting at `position` is excluded under `excluded` ([] if it is not)."""
        found: list[Reason] = []
        if "questions" in excluded and any(s <= position < e for s, e in self._turns):
            found.append(Reason("questions", "a reporter's turn, 'QUESTION:'"))
        start, end = self.sentence(position)
        for reason in mood_at(self.text[start:end], position - start):
            if reason.mood in excluded and reason.mood not in {r.mood for r in found}:
                found.append(reason)
        return found
