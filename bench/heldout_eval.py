"""Accuracy of the shipped model on the held-out set (models/eval), which training never reads.

The held-out texts were written separately from the training corpus, in the voices of real
outlets, to show how the model does on text unlike its own corpus. Prints precision, recall
and F1 per output, and the texts it gets wrong on the health label.

    python bench/heldout_eval.py [--errors 20]
"""

from __future__ import annotations

import argparse
import json

from sklearn.metrics import precision_recall_fscore_support

from monitor.analyze.analyzer import load_analyzer
from monitor.analyze.lexicon import PROJECT_DIR

HELDOUT = PROJECT_DIR / "models" / "eval" / "heldout.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--errors", type=int, default=20, help="wrong health labels to show")
    args = parser.parse_args()
    records = [json.loads(line) for line in HELDOUT.read_text(encoding="utf-8").splitlines()]
    analyzer = load_analyzer(PROJECT_DIR / "profile.yaml", PROJECT_DIR / "plans.yaml")
    signals = analyzer.analyze([("", r["text"]) for r in records])
    keys = [t.key for t in analyzer.topics]
    truth = {"health": [r["health"] for r in records],
             "negative": [r["negative"] for r in records],
             **{k: [int(k in r["topics"]) for r in records] for k in keys}}
    guess = {"health": [int(s.health) for s in signals],
             "negative": [int(s.negative >= 0.5) for s in signals],
             **{k: [int(k in [t.key for t in s.topics]) for s in signals] for k in keys}}
    print(f"{len(records)} held-out texts, model {analyzer.model.ident}")
    print(f"{'output':<16} {'precision':>9} {'recall':>7} {'F1':>6} {'positives':>9}")
    for name in ["health", *keys, "negative"]:
        p, r, f, _ = precision_recall_fscore_support(truth[name], guess[name],
                                                     average="binary", zero_division=0)
        print(f"{name:<16} {p:>9.3f} {r:>7.3f} {f:>6.3f} {sum(truth[name]):>9}")
    wrong = [(r, s) for r, s in zip(records, signals, strict=True) if r["health"] != s.health]
    print(f"\n{len(wrong)} wrong on the health label; the first {args.errors}:")
    for record, signal in wrong[: args.errors]:
        print(f"  truth {record['health']} score {signal.health_score:.2f}  "
              f"{record['text'][:70]!r}")


if __name__ == "__main__":
    main()
