"""Many rules at once: the compiled set's matches, terms and snippets are those of each rule
evaluated alone, explained from whole-text splits (every word's offsets, every sentence)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from monitor.models import Document, Match
from monitor.rules.matcher import (
    DEFAULT_FIELDS,
    Rule,
    RuleSet,
    _Doc,
    _evidence_spans,
    _true_of,
)
from monitor.rules.query import parse_query
from monitor.rules.snippets import build_snippet
from monitor.rules.tokens import TokenSpans, token_spans

NAMES = ["Biegun", "Kalomir", "Shavor", "Pyongyang", "Müller", "Tel-Pan", "Grisok", "Zarven"]
WORDS = (
    "the of and to in a is that for on said sanctions sanctioned lifting lifted eased easing "
    "missile launch talks envoy minister week officials would not if whether no asked"
).split()
TRICKY = ["U.S.", "Mr.", "Dr.", "e.g.", "3.5", "U.N.", "(Amb.", "etc.", "A.B.", "İstanbul", "."]
# Words no rule asks for, so that the rules' words are a text's few, as in real releases.
FILLER = [
    a + b + c for a in ("ka", "lo", "mir", "den") for b in ("sha", "vor", "tel") for c in "xyz"
]
ENDS = [". ", "? ", "! ", ".\n\n", '." ', ".) ", " ", " ", ", ", "; "]


def _text(rng: random.Random, sentences: int) -> str:
    out = []
    for _ in range(sentences):
        count = rng.randint(3, 25)
        pool = FILLER * 3 + WORDS + NAMES + TRICKY
        words = [rng.choice(pool) for _ in range(count)]
        if rng.random() < 0.7:
            words[0] = words[0].capitalize()
        out.append(" ".join(words) + rng.choice(ENDS))
    return "".join(out).strip()


def _rules(rng: random.Random, count: int) -> list[Rule]:
    names = [n.lower() for n in NAMES] + ["us", "un", "ab"]
    stems = ["sanction", "lift", "eas", "missil", "launch"]
    shapes = [
        '"{a} {b}" OR {c}',
        "{a} AND {s}*",
        "{s}* NEAR/6 ({a} OR {b} OR {c})",
        "({a} OR {b}) AND NOT {w}",
        '"{w} {a}" OR ({b} NEAR/4 {t}*)',
        "title:{a} OR ({b} AND ({s}* OR {t}*))",
        "{a} SENT {s}*",
        "{a} PARA {b}",
        "author:{a} OR ({s}* NEAR/3 {w})",
        '"{s}* {w}" AND {a}',
    ]
    rules = []
    for i in range(count):
        a, b, c = rng.sample(names, 3)
        s, t = rng.sample(stems, 2)
        query = shapes[i % len(shapes)].format(a=a, b=b, c=c, s=s, t=t, w=rng.choice(WORDS))
        exclude = frozenset({"questions", "negated", "conditional"}) if i % 7 == 0 else frozenset()
        rules.append(Rule(f"r{i}", f"rule {i}", query, parse_query(query), exclude=exclude))
    return rules


def _reference(
    rule: Rule, document: Document, doc: _Doc, spans: dict[str, TokenSpans]
) -> Match | None:
    """The rule alone (no triggers); offsets and sentences from splits of the whole text."""
    if not (rule.applies_to(document) and _true_of(rule, doc)):
        return None
    evidence = _evidence_spans(rule.ast, doc)
    if rule.exclude:
        kept = [(k, sp) for k, sp in evidence if not doc.excluded(sp[0], (sp[1:],), rule.exclude)]
        evidence = kept or evidence
    texts = {"title": document.title, "body": document.body, "author": " ; ".join(document.authors)}
    terms: dict[str, None] = {}
    positions: dict[tuple[str, int, int], None] = {}
    for _, (f, s, e) in evidence:
        start, end = spans[f][s][0], spans[f][e - 1][1]
        terms.setdefault(texts[f][start:end], None)
        positions.setdefault((f, start, end), None)
    fields = [span[0] for _, span in evidence]
    field_name = "body" if "body" in fields else (fields[0] if fields else "title")
    hits = [(key, s, e) for key, (f, s, e) in evidence if f == field_name]
    source = texts[field_name] if hits else document.title
    # Title and body snippets take the text's sentence split; an author's, a window's.
    sentences = doc.sentences(field_name) if hits and field_name in DEFAULT_FIELDS else None
    snippet, highlights = build_snippet(source, spans[field_name], hits, sentences=sentences)
    return Match(
        rule_id=rule.id,
        rule_name=rule.name,
        document_id=document.id,
        version=document.version,
        field=field_name,
        terms=list(terms),
        snippet=snippet or document.title[:300],
        highlights=highlights,
        positions=sorted(positions),
    )


def test_hundreds_of_rules_match_and_explain_as_each_rule_alone() -> None:
    rng = random.Random(13)
    rules = _rules(rng, 400)
    ruleset = RuleSet(rules)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    compared = 0
    for n in range(20):
        document = Document(
            id=f"d{n}",
            source_id="s",
            url=f"https://e.org/{n}",
            title=_text(rng, 1),
            body=_text(rng, rng.choice([3, 30, 80])),
            authors=rng.sample(NAMES, 2),
            content_hash=str(n),
            fetched_at=now,
        )
        doc = _Doc.of(document)  # no vocabulary: truncations are looked up in the text
        texts = {"title": document.title, "body": document.body}
        texts["author"] = " ; ".join(document.authors)
        spans = {f: token_spans(text) for f, text in texts.items()}
        expected = [m for r in rules if (m := _reference(r, document, doc, spans)) is not None]
        assert ruleset.match(document) == expected, document.body
        compared += len(expected)
    assert compared > 100  # the rules do match: snippets, terms and offsets were compared
