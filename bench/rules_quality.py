"""Quality of the shipped rules: precision, recall and F1 per rule on the labelled sets.

    python bench/rules_quality.py [--config-dir config] [--errors RULE]

The tuning sets (fixtures/rules/labelled.yaml, written by us, and
fixtures/rules/real/tuning-*.yaml, real State Department releases) are what the queries were
tuned on; the held-out sets (fixtures/rules/heldout.yaml, written blind, and
fixtures/rules/real/heldout.yaml, real releases chosen by date and labelled blind) are never
used for tuning, so only their figures say how the rules generalise. `--errors RULE` lists
that rule's false positives and negatives on the tuning sets only: looking at held-out
errors would spoil them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from monitor.config import load_config
from monitor.rules.quality import errors, load_labelled, score

ROOT = Path(__file__).resolve().parent.parent
SETS: dict[str, list[Path]] = {
    "tuning": [ROOT / "fixtures" / "rules" / "labelled.yaml"],
    "held-out": [ROOT / "fixtures" / "rules" / "heldout.yaml"],
    # Real State Department releases (fixtures/rules/README.md, "Real releases").
    "real-tune": sorted((ROOT / "fixtures" / "rules" / "real").glob("tuning-*.yaml")),
    "real-held": [ROOT / "fixtures" / "rules" / "real" / "heldout.yaml"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config-dir", type=Path, default=ROOT / "config")
    parser.add_argument("--errors", metavar="RULE", help="list RULE's errors on the tuning set")
    args = parser.parse_args()
    ruleset = load_config(args.config_dir).rules
    print(f"{'set':9s} {'rule':20s} {'docs':>5s} {'tp':>4s} {'fp':>4s} {'fn':>4s}  P     R     F1")
    for name, paths in SETS.items():
        missing = [p for p in paths if not p.exists()]
        if missing or not paths:
            print(f"{name:9s} ({missing[0] if missing else name} is missing)")
            continue
        items = [item for p in paths for item in load_labelled(p)]
        for rule_id, s in score(ruleset, items).items():
            print(
                f"{name:9s} {rule_id:20s} {len(items):5d} {s.tp:4d} {s.fp:4d} {s.fn:4d}  "
                f"{s.precision:.2f}  {s.recall:.2f}  {s.f1:.2f}"
            )
    if args.errors:
        print(f"\n{args.errors} on the tuning set:")
        tuning = [i for p in SETS["tuning"] + SETS["real-tune"] for i in load_labelled(p)]
        for kind, doc_id in errors(ruleset, tuning, args.errors):
            print(f"  {kind}: {doc_id}")


if __name__ == "__main__":
    main()
