"""Quality of the shipped rules: precision, recall and F1 per rule on the labelled sets.

    python bench/rules_quality.py [--config-dir config] [--errors RULE]

The tuning set (fixtures/rules/labelled.yaml) is what the queries were tuned on; the
held-out set (fixtures/rules/heldout.yaml) was written blind and is never used for tuning,
so only its figures say how the rules generalise. `--errors RULE` lists that rule's false
positives and negatives on the tuning set only: looking at held-out errors would spoil it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from monitor.config import load_config
from monitor.rules.quality import errors, load_labelled, score

ROOT = Path(__file__).resolve().parent.parent
SETS = {
    "tuning": ROOT / "fixtures" / "rules" / "labelled.yaml",
    "held-out": ROOT / "fixtures" / "rules" / "heldout.yaml",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config-dir", type=Path, default=ROOT / "config")
    parser.add_argument("--errors", metavar="RULE", help="list RULE's errors on the tuning set")
    args = parser.parse_args()
    ruleset = load_config(args.config_dir).rules
    print(f"{'set':9s} {'rule':20s} {'docs':>5s} {'tp':>4s} {'fp':>4s} {'fn':>4s}  P     R     F1")
    for name, path in SETS.items():
        if not path.exists():
            print(f"{name:9s} ({path} is missing)")
            continue
        items = load_labelled(path)
        for rule_id, s in score(ruleset, items).items():
            print(
                f"{name:9s} {rule_id:20s} {len(items):5d} {s.tp:4d} {s.fp:4d} {s.fn:4d}  "
                f"{s.precision:.2f}  {s.recall:.2f}  {s.f1:.2f}"
            )
    if args.errors:
        print(f"\n{args.errors} on the tuning set:")
        for kind, doc_id in errors(ruleset, load_labelled(SETS["tuning"]), args.errors):
            print(f"  {kind}: {doc_id}")


if __name__ == "__main__":
    main()
