"""Rules benchmark: compiled matcher vs a naive per-rule regex evaluator.

Generates rule sets of 100, 1,000 and 10,000 realistic rules (names and phrases, truncations,
NEAR, NOT, term alternatives) and 2,000 documents of ~800 words, then prints documents/s
for each rule count on one core, and the naive baseline (every rule's query evaluated on
its own with per-term regular expressions) measured in the same run on a sample.
Targets (issue #3): ≥ 2,000 docs/s with 10,000 rules; 10,000 rules cost ≤ 3× 100 rules;
≥ 100× the naive baseline at 10,000 rules.

Then the backtest (issue #13): 100,000 generated documents stored in a temporary SQLite
database through the store's write path (which keeps the word index), and one rule tested
over them as `monitor rules test` does it (the index's candidates, read and matched); prints
seconds, median of 3, for a rule naming entities (the target, ≤ 5 s) and for a broad rule
of common words, and the full scan's time estimated from 10,000 documents.

    python bench/rules.py [--docs 2000] [--words 800] [--naive-docs 20]
                          [--backtest-docs 100000] [--backtest-words 400]
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from monitor.models import Document
from monitor.rules.matcher import Rule, RuleSet, word_frequencies
from monitor.rules.prefilter import required
from monitor.rules.query import And, Near, Node, Not, Or, Pattern, parse_query
from monitor.store import Store

COMMON = (
    "the of and to in a is that for on with as by at from said it was were be has have had "
    "will would not this an which its their they he she we his her after over also more than "
    "two new year years government officials statement week minister talks country countries "
    "security president foreign state states united national international meeting support "
    "policy military economic nuclear program region regional agreement council committee "
    "department office press release report reports week monday tuesday wednesday thursday "
    "friday told reporters according spokesperson spokesman visit visited cooperation trade "
    "sanctions measures peace efforts leaders summit bilateral relations issue issues plan"
).split()
STEMS = [
    "sanction",
    "designat",
    "impos",
    "lift",
    "eas",
    "missil",
    "launch",
    "negotiat",
    "denucleari",
    "embargo",
    "export",
    "financ",
    "shipp",
    "vessel",
    "cyber",
    "allian",
    "exercis",
    "troop",
    "envoy",
    "diplomat",
    "waiv",
    "renew",
    "freez",
    "blacklist",
]
SYLLABLES = [
    "ka",
    "lo",
    "mir",
    "den",
    "sha",
    "vor",
    "tel",
    "pan",
    "gri",
    "sok",
    "hua",
    "ber",
    "ton",
    "mas",
    "li",
    "qu",
    "zar",
    "ven",
    "dor",
    "pyo",
    "jin",
    "han",
    "ru",
    "tek",
]


def entity_names(rng: random.Random, count: int) -> list[str]:
    """Made-up proper names (people, places, companies, vessels): the rare words rules hunt."""
    names: set[str] = set()
    while len(names) < count:
        names.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(names)


def make_rules(rng: random.Random, count: int, entities: list[str]) -> list[Rule]:
    """Rules shaped like a desk's: an entity or phrase, qualified by topic, NEAR or NOT."""
    rules = []
    for i in range(count):
        a, b, c = rng.sample(entities, 3)
        stem, stem2 = rng.sample(STEMS, 2)
        common = rng.choice(COMMON[40:])
        shape = i % 6
        if shape == 0:
            query = f'"{a} {b}" OR {c}'
        elif shape == 1:
            query = f"{a} AND {stem}*"
        elif shape == 2:
            query = f"{stem}* NEAR/6 ({a} OR {b} OR {c})"
        elif shape == 3:
            query = f"({a} OR {b}) AND NOT {common}"
        elif shape == 4:
            query = f'"{common} {a}" OR ({b} NEAR/4 {stem2}*)'
        else:
            query = f"title:{a} OR ({b} AND ({stem}* OR {stem2}*))"
        rules.append(Rule(id=f"r{i}", name=f"rule {i}", query=query, ast=parse_query(query)))
    return rules


def make_docs(
    rng: random.Random, count: int, words: int, entities: list[str], first: int = 0
) -> list[Document]:
    """~`words`-word documents: Zipf-weighted common words, topic words, 15 entity names."""
    weights = [1 / (rank + 1) for rank in range(len(COMMON))]
    topic = [s + rng.choice(["", "s", "ed", "ing", "ion", "ions"]) for s in STEMS]
    now = datetime(2026, 11, 23, tzinfo=UTC)
    docs = []
    for n in range(first, first + count):
        chosen = rng.choices(COMMON, weights, k=words - 40)
        chosen += rng.choices(topic, k=25) + rng.sample(entities, 15)
        rng.shuffle(chosen)
        sentences = [
            " ".join(chosen[i : i + 20]).capitalize() + "." for i in range(0, len(chosen), 20)
        ]
        body = " ".join(sentences)
        title = " ".join(rng.sample(chosen, 8)).capitalize()
        docs.append(
            Document(
                id=f"d{n}",
                source_id="bench",
                url=f"https://e.org/{n}",
                title=title,
                body=body,
                content_hash=str(n),
                fetched_at=now,
            )
        )
    return docs


# -- the naive baseline: each rule on its own, one regular expression per term ---------------


def _regex(pattern: Pattern) -> re.Pattern[str]:
    parts = [re.escape(t) + (r"\w*" if prefix else "") for t, prefix in pattern.parts]
    return re.compile(r"\b" + r"\W+".join(parts) + r"\b", re.IGNORECASE)


def _naive(node: Node, fields: dict[str, str], cache: dict[Pattern, re.Pattern[str]]) -> bool:
    if isinstance(node, Pattern):
        regex = cache.setdefault(node, _regex(node))
        texts = [fields[node.field]] if node.field else [fields["title"], fields["body"]]
        return any(regex.search(t) for t in texts)
    if isinstance(node, And):
        return all(_naive(c, fields, cache) for c in node.children)
    if isinstance(node, Or):
        return any(_naive(c, fields, cache) for c in node.children)
    if isinstance(node, Not):
        return not _naive(node.child, fields, cache)
    assert isinstance(node, Near)
    return _naive_near(node, fields, cache)


def _words_before(text: str, index: int) -> int:
    return len(re.findall(r"\w+", text[:index]))


def _naive_near(node: Near, fields: dict[str, str], cache: dict[Pattern, re.Pattern[str]]) -> bool:
    def spans(n: Node, text: str) -> list[tuple[int, int]]:
        if isinstance(n, Pattern):
            regex = cache.setdefault(n, _regex(n))
            return [
                (_words_before(text, m.start()), _words_before(text, m.end()))
                for m in regex.finditer(text)
            ]
        assert isinstance(n, Or)
        return [s for c in n.children for s in spans(c, text)]

    for text in (fields["title"], fields["body"]):
        for sa, ea in spans(node.left, text):
            for sb, eb in spans(node.right, text):
                gap = sb - ea + 1 if ea <= sb else sa - eb + 1 if eb <= sa else 0
                if gap <= node.distance:
                    return True
    return False


def naive_match(
    rules: list[Rule], doc: Document, cache: dict[Pattern, re.Pattern[str]]
) -> set[str]:
    fields = {"title": doc.title, "body": doc.body, "author": " ; ".join(doc.authors)}
    return {r.id for r in rules if _naive(r.ast, fields, cache)}


# -- the backtest: one rule over stored documents, through the word index ------------------


def _backtest_once(store: Store, rule: Rule) -> tuple[float, float, int, int]:
    """(wall s, CPU s, candidates read, matches) of one rule, as `monitor rules test` runs."""
    wall, cpu = time.perf_counter(), time.process_time()
    ruleset = RuleSet([rule])
    ids = store.candidate_ids(required(rule.ast))
    matched = sum(1 for d in store.iter_documents(ids=ids) if ruleset.match(d))
    read = len(ids) if ids is not None else store.count_documents()
    return time.perf_counter() - wall, time.process_time() - cpu, read, matched


def backtest(args: argparse.Namespace, entities: list[str]) -> None:
    """Store `--backtest-docs` documents in a temporary SQLite file; time one rule over them."""
    rng = random.Random(99)
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(f"sqlite:///{Path(folder) / 'backtest.db'}")
        start = time.perf_counter()
        now = datetime(2026, 12, 1, tzinfo=UTC)
        for first in range(0, args.backtest_docs, 1000):
            count = min(1000, args.backtest_docs - first)
            docs = make_docs(rng, count, args.backtest_words, entities, first=first)
            store.record_poll("bench", docs, now=now)
        size = (Path(folder) / "backtest.db").stat().st_size
        print(
            f"\nbacktest: {args.backtest_docs:,} documents of ~{args.backtest_words} words "
            f"stored in {time.perf_counter() - start:.0f} s (SQLite, {size / 1e6:,.0f} MB "
            "with the word index); wall and CPU seconds, median of 3"
        )
        a, b, c, d, e = rng.sample(entities, 5)
        shapes = {
            "names, qualified": f"({a} OR {b} OR {c} OR {d} OR {e}) AND (sanction* OR designat*)",
            "names NEAR a topic": f"sanction* NEAR/6 ({a} OR {b} OR {c})",
            "common words only": "sanction* NEAR/5 (lift* OR eas*)",
        }
        for label, query in shapes.items():
            rule = Rule(id="r", name=label, query=query, ast=parse_query(query))
            runs = [_backtest_once(store, rule) for _ in range(args.repeat)]
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            _, _, read, matched = runs[0]
            print(
                f"  {label:18s} {wall:6.2f} s wall, {cpu:6.2f} s CPU: read {read:,} "
                f"candidates, {matched:,} match   ({query})"
            )
        # Without the index every document is read and matched: timed on the first 10,000.
        sample = min(10_000, args.backtest_docs)
        rule = Rule(id="r", name="all", query=query, ast=parse_query(query))
        ruleset = RuleSet([rule])
        wall = time.perf_counter()
        for n, document in enumerate(store.iter_documents()):
            ruleset.match(document)
            if n + 1 >= sample:
                break
        scan = (time.perf_counter() - wall) * args.backtest_docs / sample
        print(f"  without the index: every document read and matched, ~{scan:.0f} s")
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--words", type=int, default=800)
    parser.add_argument(
        "--naive-docs",
        type=int,
        default=20,
        help="documents the naive baseline runs on (it is slow)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; median printed")
    parser.add_argument(
        "--entities",
        type=int,
        default=50000,
        help="distinct names (people, firms, vessels, places) rules and texts use",
    )
    parser.add_argument(
        "--no-frequencies",
        action="store_true",
        help="compile without word frequencies (triggers chosen by guesswork)",
    )
    parser.add_argument(
        "--backtest-docs",
        type=int,
        default=100_000,
        help="documents stored for the backtest (0: skip it)",
    )
    parser.add_argument("--backtest-words", type=int, default=400)
    args = parser.parse_args()
    rng = random.Random(2026)
    entities = entity_names(rng, args.entities)
    docs = make_docs(rng, args.docs, args.words, entities)
    # Word frequencies come from other documents, as the service takes them from its store.
    frequencies = (
        None
        if args.no_frequencies
        else word_frequencies(make_docs(random.Random(7), 500, args.words, entities))
    )
    mean_words = statistics.mean(len(d.body.split()) for d in docs)
    print(
        f"{len(docs)} documents of ~{mean_words:.0f} words, {len(entities):,} names; "
        f"word frequencies {'off' if frequencies is None else 'from 500 other documents'}; "
        "one core (process CPU time)"
    )
    per_doc: dict[int, float] = {}
    for count in (100, 1000, 10000):
        rules = make_rules(random.Random(count), count, entities)
        compile_start = time.process_time()
        ruleset = RuleSet(rules, frequencies=frequencies)
        compile_s = time.process_time() - compile_start
        runs, matched = [], 0
        for _ in range(args.repeat):
            start = time.process_time()
            matched = sum(len(ruleset.match(d)) for d in docs)
            runs.append(time.process_time() - start)
        cpu = statistics.median(runs)
        per_doc[count] = cpu / len(docs)
        start = time.process_time()
        for d in docs:
            ruleset.matching_rules(d)
        decide = (time.process_time() - start) / len(docs)
        print(
            f"{count:>6} rules: {len(docs) / cpu:8,.0f} docs/s  "
            f"({per_doc[count] * 1e3:.3f} ms/doc, "
            f"compile {compile_s * 1e3:.0f} ms, {matched / len(docs):.1f} matches/doc; "
            f"without snippets {1 / decide:,.0f} docs/s)"
        )
        if count == 10000:
            sample = docs[: args.naive_docs]
            cache: dict[Pattern, re.Pattern[str]] = {}
            naive_match(rules, sample[0], cache)  # compile the regexes outside the timing
            start = time.process_time()
            naive = [naive_match(rules, d, cache) for d in sample]
            naive_cpu = (time.process_time() - start) / len(sample)
            compiled = [{r.id for r in ruleset.matching_rules(d)} for d in sample]
            agree = sum(a == b for a, b in zip(naive, compiled, strict=True))
            print(
                f" naive, {count} rules: {1 / naive_cpu:8,.1f} docs/s  "
                f"({naive_cpu * 1e3:.0f} ms/doc "
                f"on {len(sample)} docs; same matches as compiled on {agree}/{len(sample)})"
            )
            print(f"speed-up over naive at {count} rules: {naive_cpu / per_doc[count]:,.0f}x")
    print(f"cost of 10,000 rules / 100 rules: {per_doc[10000] / per_doc[100]:.2f}x")
    if args.backtest_docs:
        backtest(args, entities)


if __name__ == "__main__":
    main()
