"""NEAR, SENT and PARA against a plain reference: every pair of hits, checked one by one.

The matcher finds NEAR's pairs by looking around the rarer side's hits; this reference
builds the text itself (so it knows each word's sentence and paragraph) and tries every
pair. Both must agree on whether a query matches, and on the terms a match shows.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.models import Document
from monitor.rules.matcher import Rule, RuleSet
from monitor.rules.query import parse_query

# Words of two letters or more that are no abbreviation: a full stop after any of them
# ends a sentence, so the reference knows where sentences end without splitting.
VOCABULARY = ["alpha", "alps", "beta", "betamax", "gamma", "delta", "deltas", "omega"]
SIDES = [
    "alpha",
    "alp*",
    "beta",
    "beta*",
    "gamma",
    "delt*",
    "omega",
    "(alpha OR gamma)",
    "(beta* OR omega)",
    '"alpha beta"',
    '"gamma delt*"',
]

# A text: paragraphs of sentences of words, as (paragraph, sentence, words).
Sentence = list[str]
TEXT = st.lists(
    st.lists(st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=9), min_size=1, max_size=3),
    min_size=1,
    max_size=3,
)


def render(paragraphs: list[list[Sentence]]) -> str:
    return "\n\n".join(
        " ".join(" ".join(s).capitalize() + "." for s in sentences) for sentences in paragraphs
    )


def located(paragraphs: list[list[Sentence]]) -> list[tuple[str, int, int]]:
    """Each word of the text with its paragraph and sentence numbers."""
    out, number = [], 0
    for p, sentences in enumerate(paragraphs):
        for sentence in sentences:
            out += [(w, p, number) for w in sentence]
            number += 1
    return out


def hits(side: str, words: list[tuple[str, int, int]]) -> list[tuple[int, int]]:
    """Token ranges a side matches: words, truncations, ORs, phrases within a sentence."""
    if side.startswith("("):
        return [h for part in side[1:-1].split(" OR ") for h in hits(part, words)]
    parts = side.strip('"').split()
    found = []
    for start in range(len(words) - len(parts) + 1):
        chunk = words[start : start + len(parts)]
        if len({s for _, _, s in chunk}) == 1 and all(
            w.startswith(t[:-1]) if t.endswith("*") else w == t
            for (w, _, _), t in zip(chunk, parts, strict=True)
        ):
            found.append((start, start + len(parts)))
    return found


def reference(left: str, operator: str, right: str, words: list[tuple[str, int, int]]) -> bool:
    for sa, ea in hits(left, words):
        for sb, eb in hits(right, words):
            if set(range(sa, ea)) & set(range(sb, eb)):
                continue  # one word is not near itself
            start, end = min(sa, sb), max(ea, eb)
            span = words[start:end]
            if operator == "SENT":
                ok = len({s for _, _, s in span}) == 1
            else:
                ok = len({p for _, p, _ in span}) == 1
                if operator.startswith("NEAR/"):
                    between = sb - ea if ea <= sb else sa - eb if eb <= sa else -1
                    ok = ok and between + 1 <= int(operator[5:])
            if ok:
                return True
    return False


OPERATORS = st.sampled_from(["SENT", "PARA", *(f"NEAR/{n}" for n in (1, 2, 3, 5, 9))])


@settings(max_examples=400, deadline=None)
@given(TEXT, st.sampled_from(SIDES), OPERATORS, st.sampled_from(SIDES))
def test_near_sent_and_para_agree_with_the_reference(
    paragraphs: list[list[Sentence]], left: str, operator: str, right: str
) -> None:
    query = f"{left} {operator} {right}"
    document = Document(
        id="d",
        source_id="s",
        url="https://e.org/",
        title="Report",
        body=render(paragraphs),
        content_hash="h",
        fetched_at=datetime(2026, 12, 1, tzinfo=UTC),
    )
    ruleset = RuleSet([Rule(id="r", name="r", query=query, ast=parse_query(query))])
    expected = reference(left, operator, right, located(paragraphs))
    found = ruleset.match(document)
    assert bool(found) == expected, (query, document.body)
    if found:  # the snippet's terms are words of the query's sides
        assert found[0].terms and found[0].snippet
