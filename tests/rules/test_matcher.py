"""What a query matches, evaluated by the compiled matcher."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.models import Document
from monitor.rules.matcher import Rule, RuleSet, excluded_hits
from monitor.rules.query import parse_query

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def doc(body: str, title: str = "Untitled", **fields: object) -> Document:
    values: dict[str, object] = {
        "id": "d1",
        "source_id": "state-press-releases",
        "url": "https://e.org/",
        "title": title,
        "body": body,
        "content_hash": str(hash((title, body))),
        "fetched_at": NOW,
    }
    values.update(fields)
    return Document(**values)  # type: ignore[arg-type]


def rule(query: str, rule_id: str = "r", **options: object) -> Rule:
    return Rule(id=rule_id, name=rule_id, query=query, ast=parse_query(query), **options)  # type: ignore[arg-type]


def matches(query: str, document: Document) -> bool:
    return bool(RuleSet([rule(query)]).match(document))


ROWS = [
    # query, text, matches?
    ("biegun", "Special Representative Stephen Biegun met Lee.", True),
    ("biegun", "Biegun's trip to Seoul", True),
    ("biegun", "Biegunski was there", False),
    ("BIEGUN", "biegun", True),
    ('"special representative"', "the Special Representative for North Korea", True),
    ('"special representative"', "the representative, special envoy", False),
    ("U.S.-ROK", "the US-ROK alliance", True),
    ("US-ROK", "the U.S.-ROK Working Group", True),
    ('"U.S. ROK"', "U.S./ROK talks", True),
    ("sanction*", "new sanctions on", True),
    ("sanction*", "a sanctioned event", True),
    ("sanction*", "the sanatorium", False),
    ("a AND b", "a then b", True),
    ("a AND b", "only a", False),
    ("a b", "b and a", True),
    ("a OR b", "only b", True),
    ("a NOT b", "a and b", False),
    ("a NOT b", "a alone", True),
    ("NOT b", "nothing here", True),
    ("a OR b AND c", "a", True),
    ("(a OR b) AND c", "a", False),
    ("sanction* NEAR/3 lift*", "they lifted the sanctions", True),
    ("sanction* NEAR/3 lift*", "sanctions were later lifted", True),
    ("sanction* NEAR/2 lift*", "sanctions were later lifted", False),
    ("sanction* NEAR/8 (impos* OR new)", "imposed tough new sanctions", True),
    ('"new sanctions" NEAR/3 Treasury', "Treasury announced new sanctions today", True),
    ("(a NEAR/1 b) NEAR/2 c", "a b x c", True),
    ("(a NEAR/1 b) NEAR/1 c", "a b x c", False),
    ("title:biegun", "Biegun in body only", False),
    ("body:biegun", "Biegun in body only", True),
    ("author:pompeo", "Pompeo speaks", False),
    ("Müller", "Herr Muller", True),
    ("korea*", "Korean Peninsula", True),
    # NEAR needs its two sides at different places: one word does not sit near itself.
    ("sanction* NEAR/3 sanctions", "The sanctions stay in place.", False),
    ("sanction* NEAR/3 sanctions", "sanctioned firms face sanctions", True),
    ('"new sanctions" NEAR/3 sanctions', "Treasury announced new sanctions.", False),
    ("(a NEAR/1 b) NEAR/2 a", "x a b x", False),
    ("(a NEAR/1 b) NEAR/2 a", "a b a", True),
    ("(a NEAR/3 c) NEAR/2 b", "a b c", True),
    # A phrase stays inside one sentence and one paragraph.
    ('"sanctions relief"', "They will lift sanctions. Relief was felt in Pyongyang.", False),
    ('"sanctions relief"', "They will lift sanctions\n\nRelief was felt.", False),
    ('"sanctions relief"', "Is it sanctions? Relief, say some.", False),
    ('"sanctions relief"', "Pyongyang sought sanctions relief. Talks failed.", True),
    ('"U.S. Treasury"', "The U.S. Treasury acted. It said so.", True),
    ('"Mr. Biegun"', "He met Mr. Biegun.", True),
    ('"N. Korea"', "Talks with N. Korea resume.", True),
    ('"Biegun said"', "Stephen E. Biegun said so.", True),
    # NEAR counts words across sentences (as news databases do), not across paragraphs.
    ("sanction* NEAR/3 lift*", "We keep the sanctions. Lifting them is not planned.", True),
    ("sanction* NEAR/3 lift*", "We keep the sanctions\n\nLifting them is not planned.", False),
    # SENT (/s): one sentence, any order, any distance; PARA (/p): one paragraph.
    ("designat* SENT property", "The designations, announced today, block all property.", True),
    ("designat* /s property", "Treasury designated them. All their property is blocked.", False),
    ("property /s designat*", "The designations, announced today, block all property.", True),
    ("designat* PARA property", "Treasury designated them. All their property is blocked.", True),
    ("designat* /p property", "Treasury designated them.\n\nAll their property is blocked.", False),
    ("sanction* /s sanctions", "The sanctions stay in place.", False),
    ("(Treasury NEAR/2 sanctioned) /s entities", "Treasury today sanctioned three entities.", True),
    ('"asset freeze" /s add*', "Japan added nine entities to its asset freeze list.", True),
    ("title:(Japan /s freeze)", "Japan froze assets.", False),
]


@pytest.mark.parametrize(
    ("query", "text", "expected"), ROWS, ids=[f"{q} | {t}" for q, t, _ in ROWS]
)
def test_query_against_text(query: str, text: str, expected: bool) -> None:
    assert matches(query, doc(text)) is expected


def test_title_and_author_fields() -> None:
    document = doc("Body text.", title="Biegun to visit Seoul", authors=["Michael R. Pompeo"])
    assert matches("title:biegun", document)
    assert matches("author:pompeo", document)
    assert not matches("pompeo", document)  # authors only through author:


def test_term_lists_expand() -> None:
    lists = {"envoy": parse_query('Biegun OR "Special Representative"')}
    ruleset = RuleSet([Rule("r", "r", "@envoy", parse_query("@envoy", lists))])
    assert ruleset.match(doc("the Special Representative said"))
    assert not ruleset.match(doc("the envoy said"))


def test_source_and_kind_filters() -> None:
    r = rule("biegun", sources=("state-*",), kinds=("media note",))
    ruleset = RuleSet([r])
    assert ruleset.match(doc("Biegun", kind="Media Note"))
    assert not ruleset.match(doc("Biegun", kind="Remarks"))
    assert not ruleset.match(doc("Biegun", kind="Media Note", source_id="yonhap-north-korea"))


def test_match_carries_terms_and_the_sentence() -> None:
    body = (
        "The Secretary met the press. Special Representative for North Korea Stephen "
        "Biegun and Lee Do-hoon launched the U.S.-ROK Working Group. Talks continue."
    )
    [match] = RuleSet([rule('biegun OR "U.S.-ROK"')]).match(doc(body))
    assert match.field == "body"
    assert match.terms == ["Biegun", "U.S.-ROK"]
    assert [body[s:e] for _, s, e in match.positions] == ["Biegun", "U.S.-ROK"]
    assert match.snippet.startswith("Special Representative for North Korea Stephen Biegun")
    assert match.marked() == (
        "Special Representative for North Korea Stephen **Biegun** and Lee Do-hoon launched "
        "the **U.S.-ROK** Working Group."
    )


def test_long_sentence_is_trimmed_around_the_match() -> None:
    body = "word " * 200 + "Biegun arrived " + "word " * 200
    [match] = RuleSet([rule("biegun")]).match(doc(body))
    assert len(match.snippet) <= 302
    assert match.snippet.startswith("…") and match.snippet.endswith("…")
    assert "**Biegun**" in match.marked()


def test_title_only_match_uses_the_title() -> None:
    [match] = RuleSet([rule("title:biegun")]).match(doc("Nothing here.", title="Biegun in Seoul"))
    assert (match.field, match.marked()) == ("title", "**Biegun** in Seoul")


ON_UPDATE = [
    ("new-match", "Biegun", "Biegun and more", False),
    ("new-match", "Nothing", "Now Biegun", True),
    ("always", "Biegun", "Biegun and more", True),
    ("never", "Nothing", "Now Biegun", False),
]


@pytest.mark.parametrize(("policy", "before", "after", "alerts"), ON_UPDATE)
def test_updated_documents_follow_on_update(
    policy: str, before: str, after: str, alerts: bool
) -> None:
    ruleset = RuleSet([rule("biegun", on_update=policy)])
    previous, current = doc(before), doc(after, version=2)
    assert bool(ruleset.match(current, previous)) is alerts


WORDS = st.sampled_from(
    [
        "biegun",
        "sanctions",
        "lifted",
        "new",
        "korea",
        "seoul",
        "talks",
        "the",
        "u.s.",
        "rok",
        "alliance",
    ]
)
TEXTS = st.lists(WORDS, min_size=0, max_size=30).map(" ".join)
QUERIES = st.sampled_from(
    [
        "biegun",
        "sanction*",
        "sanctions NEAR/3 (lifted OR new)",
        "korea AND NOT seoul",
        '"u.s. rok" OR alliance',
        "talks NEAR/2 korea*",
        "NOT the",
        "title:korea OR body:talks",
        "(biegun OR seoul) AND (new OR lifted)",
    ]
)


@settings(max_examples=200)
@given(st.lists(QUERIES, min_size=1, max_size=6, unique=True), TEXTS, st.randoms())
def test_matching_is_deterministic_and_independent_of_rule_order(
    queries: list[str], text: str, rnd: object
) -> None:
    rules = [rule(q, rule_id=f"r{i}") for i, q in enumerate(queries)]
    document = doc(text, title=text[:20])
    first = sorted(m.rule_id for m in RuleSet(rules).match(document))
    shuffled = list(rules)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert sorted(m.rule_id for m in RuleSet(shuffled).match(document)) == first
    assert sorted(m.rule_id for m in RuleSet(rules).match(document)) == first
    # Each rule alone gives the same answer as compiled together with the others.
    alone = sorted(r.id for r in rules if RuleSet([r]).match(document))
    assert alone == first


@settings(max_examples=200)
@given(QUERIES, TEXTS)
def test_a_query_and_its_parenthesised_form_match_alike(query: str, text: str) -> None:
    document = doc(text)
    assert matches(query, document) == matches(f"({query})", document)
    assert matches(query, document) != matches(f"NOT ({query})", document)


@settings(max_examples=150)
@given(
    st.lists(QUERIES, min_size=1, max_size=6, unique=True),
    TEXTS,
    st.dictionaries(WORDS.map(lambda w: w.replace(".", "")), st.floats(0, 1), max_size=8),
)
def test_word_frequencies_change_speed_not_results(
    queries: list[str], text: str, frequencies: dict[str, float]
) -> None:
    rules = [rule(q, rule_id=f"r{i}") for i, q in enumerate(queries)]
    document = doc(text, title=text[:20])
    plain = sorted(m.rule_id for m in RuleSet(rules).match(document))
    tuned = RuleSet(rules).with_frequencies(frequencies)
    assert sorted(m.rule_id for m in tuned.match(document)) == plain


def test_frequencies_come_from_documents() -> None:
    from monitor.rules.matcher import word_frequencies

    freqs = word_frequencies([doc("the sanctions", title="A"), doc("the talks", title="B")])
    assert freqs["the"] == 1.0 and freqs["sanctions"] == 0.5


WORD_PIECES = ["sanctions", "Relief", "U.S.", "Mr.", "N.", "Korea", "Talks"]
BREAK_PIECES = [".", "?", "\n\n", "\n", ","]
PIECES = st.lists(
    st.sampled_from(WORD_PIECES).flatmap(
        lambda w: st.sampled_from([w, w + " "] + [w + b for b in BREAK_PIECES])
    ),
    max_size=10,
).map(" ".join)
PHRASES = ['"sanctions relief"', '"u.s. sanctions"', '"mr. korea"', '"n. korea talks"']


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(PHRASES), PIECES)
def test_a_phrase_matches_a_text_exactly_when_it_matches_one_of_its_sentences(
    query: str, text: str
) -> None:
    from monitor.rules.snippets import sentence_spans

    sentences = [text[s:e] for s, e in sentence_spans(text)]
    assert matches(query, doc(text)) is any(matches(query, doc(s)) for s in sentences)


EXCLUDE_ALL = frozenset({"questions", "negated", "conditional"})
RELIEF = "sanction* NEAR/6 (relief OR lift* OR eas* OR designat*)"
MOOD_ROWS = [
    # text, matches with exclude: [questions, negated, conditional]?
    ("QUESTION: Will there be any sanctions relief?\nMR. PRICE: We have nothing new.", False),
    ("Will the United States consider lifting sanctions if the North freezes its program?", False),
    ("He gave no sign that Washington was prepared to ease sanctions.", False),
    ("Washington lifted sanctions on two North Korean vessels on Friday.", True),
    # One hit outside the excluded moods is enough.
    ("Will more follow? Treasury designated three firms under North Korea sanctions.", True),
    (
        "QUESTION: Any relief on sanctions?\n"
        "MR. PRICE: Today we designated two banks under our sanctions program.",
        True,
    ),
]


@pytest.mark.parametrize(("text", "expected"), MOOD_ROWS, ids=[t[:50] for t, _ in MOOD_ROWS])
def test_excluded_moods_do_not_count(text: str, expected: bool) -> None:
    assert matches(RELIEF, doc(text))  # without exclude, every row matches
    excluding = RuleSet([rule(RELIEF, exclude=EXCLUDE_ALL)])
    assert bool(excluding.match(doc(text))) is expected


def test_only_the_listed_moods_are_excluded() -> None:
    text = "He gave no sign that Washington was prepared to ease sanctions."
    assert RuleSet([rule(RELIEF, exclude=frozenset({"questions"}))]).match(doc(text))
    assert not RuleSet([rule(RELIEF, exclude=frozenset({"negated"}))]).match(doc(text))


def test_a_vetoing_term_vetoes_in_any_mood() -> None:
    text = "Treasury designated two firms under sanctions. Did Seoul ask for an exemption?"
    query = f"({RELIEF}) AND NOT exemption"
    assert not RuleSet([rule(query, exclude=EXCLUDE_ALL)]).match(doc(text))


def test_the_snippet_shows_the_hit_that_counts() -> None:
    text = (
        "Will the U.S. consider lifting sanctions? Treasury designated three firms under "
        "North Korea sanctions."
    )
    [match] = RuleSet([rule(RELIEF, exclude=EXCLUDE_ALL)]).match(doc(text))
    assert match.snippet.startswith("Treasury designated")


def test_excluded_hits_say_why() -> None:
    text = "QUESTION: Will there be any sanctions relief?\nMR. PRICE: Nothing new."
    [hit] = excluded_hits(rule(RELIEF, exclude=EXCLUDE_ALL), doc(text))
    assert hit.describe() == (
        "body: sanction*, relief in a question (a reporter's turn, 'QUESTION:'): "
        "QUESTION: Will there be any sanctions relief?"
    )
    text = "He gave no sign that Washington was prepared to ease sanctions."
    [hit] = excluded_hits(rule(RELIEF, exclude=EXCLUDE_ALL), doc(text))
    assert hit.describe() == (
        "body: sanction*, eas* negated ('no'); conditional ('prepared to'): " + text
    )


def test_a_document_read_for_other_rules_finds_these_rules_truncations() -> None:
    # Each RuleSet files words under its own truncations; a document read by one and
    # matched by another must still find the other's.
    from monitor.rules.matcher import _Doc

    first, second = RuleSet([rule("biegun*")]), RuleSet([rule("sanction*", rule_id="s")])
    document = doc("Sanctions were lifted; Biegun left.")
    read = _Doc.of(document, first._vocabulary)
    assert [r.id for r in second.matching_rules(document, read)] == ["s"]
