"""A rule's Boolean query alone vs the same rule with `learn: true`, on the held-out sets.

    python bench/rules_learned.py [--rule sanctions-change] [--config-dir config]

The classifier is trained on the tuning sets only (fixtures/rules/labelled.yaml and
fixtures/rules/real/*.yaml except heldout*.yaml), as `learn: true` would be with no staff
feedback yet; the figures that count are on the held-out sets (fixtures/rules/heldout.yaml
and fixtures/rules/real/heldout*.yaml), which nothing here is trained or tuned on. Only
aggregate figures are printed for them.

Forms measured:
- query: the shipped Boolean query;
- query + learn: `learn: true` on it, trained on the labelled documents the query matches
  (it can only turn matches down; with too few labels it stays out of the way);
- query + all-docs clf: a classifier trained on every labelled document instead (what
  learn.py does not do, shown for the record);
- broad + learn: the query OR any sanctions word, with `learn: true`, to see whether
  learning can win back the changes the shipped query misses;
- broad query alone: that wider query without the classifier (what it has to clean up).
Timings are indicative (shared 2-core machine).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from monitor.config import load_config
from monitor.rules import RuleSet, parse_query
from monitor.rules.learn import Example, sklearn_missing, train, with_classifiers
from monitor.rules.quality import Labelled, load_labelled, score_rule

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "fixtures" / "rules"
BROAD = 'sanction* OR designat* OR delist* OR "asset freeze" OR "blocked property" OR "SDN"'


def _sets() -> tuple[list[Path], list[Path]]:
    files = sorted(RULES.glob("*.yaml")) + sorted((RULES / "real").glob("*.yaml"))
    tuning = [f for f in files if not f.name.startswith("heldout")]
    heldout = [f for f in files if f.name.startswith("heldout")]
    return tuning, heldout


def _row(name: str, form: str, ruleset: RuleSet, rule_id: str, items: list[Labelled]) -> str:
    s = score_rule(ruleset, rule_id, [(i.document, rule_id in i.expect) for i in items])
    return (
        f"{name:28s} {form:20s} {s.documents:5d} {s.tp:4d} {s.fp:4d} {s.fn:4d}  "
        f"{s.precision:.2f}  {s.recall:.2f}  {s.f1:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rule", default="sanctions-change")
    parser.add_argument("--config-dir", type=Path, default=ROOT / "config")
    args = parser.parse_args()
    if sklearn_missing():
        raise SystemExit("scikit-learn is not installed: pip install -e '.[learn]'")
    config = load_config(args.config_dir)
    rule = config.rules.get(args.rule)
    if rule is None:
        raise SystemExit(f"no rule '{args.rule}' in {args.config_dir}/rules.yaml")
    tuning_files, heldout_files = _sets()
    tuning = [i for f in tuning_files for i in load_labelled(f)]
    heldout = {
        f.name if f.parent == RULES else f"real/{f.name}": load_labelled(f) for f in heldout_files
    }
    labels = [(i.document, i.expect) for i in tuning]
    lists = config.rules.lists

    def none(_doc_id: str) -> None:
        return None

    forms: list[tuple[str, RuleSet]] = [("query", RuleSet([replace(rule, learn=False)], lists))]
    learned, [status] = with_classifiers(
        RuleSet([replace(rule, learn=True)], lists), labels, {}, none
    )
    forms.append(("query + learn", learned))
    every = [Example(doc, rule.id in expect) for doc, expect in labels]
    all_docs, _ = train(rule.id, every)
    forms.append(("query + all-docs clf", RuleSet([replace(rule, classifier=all_docs)], lists)))
    wide = f"({rule.query}) OR {BROAD}"  # everything the query matches, and more
    broad_rule = replace(rule, query=wide, ast=parse_query(wide, lists), learn=True)
    started, cpu = time.perf_counter(), time.process_time()
    broad, [broad_status] = with_classifiers(RuleSet([broad_rule], lists), labels, {}, none)
    trained_in, trained_cpu = time.perf_counter() - started, time.process_time() - cpu
    forms.append(("broad + learn", broad))
    forms.append(("broad query alone", RuleSet([replace(broad_rule, learn=False)], lists)))

    print(f"query: {status.describe()}")
    print(f"broad: {broad_status.describe()}")
    print(
        f"training the broad form took {trained_in:.2f} s wall, {trained_cpu:.2f} s CPU "
        f"(tuning sets: {', '.join(f.name for f in tuning_files)})"
    )
    print(
        f"\n{'set':28s} {'form':20s} {'docs':>5s} {'tp':>4s} {'fp':>4s} {'fn':>4s}  P     R     F1"
    )
    for form, ruleset in forms:
        print(_row("tuning (trained on)", form, ruleset, rule.id, tuning))
    for name, items in heldout.items():
        for form, ruleset in forms:
            print(_row(f"held-out {name}", form, ruleset, rule.id, items))
    if not heldout:
        print("(no held-out set found)")


if __name__ == "__main__":
    main()
