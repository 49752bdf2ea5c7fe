"""Detection quality on text the model was never trained on.

Scores the shipped model on the frozen evaluation sets: bench/data/unseen_eval_*.jsonl (social
and news voices, written separately from the training corpus, with risk labels) and
models/eval/heldout.jsonl (the older held-out set, in the voices of real outlets). Prints, for
each set and style: health precision, recall and F1 at 0.5; negativity ROC AUC; and, where
labelled, risk ROC AUC. No text of these sets is in the corpus (tests/analyze/test_eval_sets.py).

    python bench/unseen_eval.py [--errors 10] [--models DIR]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.metrics import precision_recall_fscore_support, roc_auc_score

from monitor.analyze.analyzer import load_analyzer
from monitor.analyze.lexicon import PROJECT_DIR
from monitor.records import Signal

SETS = [*sorted((PROJECT_DIR / "bench" / "data").glob("unseen_eval_*.jsonl")),
        PROJECT_DIR / "models" / "eval" / "heldout.jsonl"]


def _auc(truth: list[int], scores: list[float]) -> str:
    if len(set(truth)) < 2:
        return "-"
    return f"{roc_auc_score(truth, scores):.3f}"


def line(name: str, records: list[dict[str, object]], signals: list[Signal]) -> str:
    truth = [int(r["health"]) for r in records]  # type: ignore[call-overload]
    guess = [int(s.health) for s in signals]
    p, r, f, _ = precision_recall_fscore_support(truth, guess, average="binary",
                                                 zero_division=0)
    negative = _auc([int(r["negative"]) for r in records],  # type: ignore[call-overload]
                    [s.negative for s in signals])
    risk = "-"
    if all("risk" in r for r in records):
        risk = _auc([int(r["risk"]) for r in records],  # type: ignore[call-overload]
                    [s.risk for s in signals])
    return (f"{name:<28} {len(records):>5} {p:>6.3f} {r:>6.3f} {f:>6.3f} {negative:>8} "
            f"{risk:>6}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--errors", type=int, default=10, help="wrong health labels to show")
    parser.add_argument("--models", type=Path, default=PROJECT_DIR / "models",
                        help="directory of the model to score (default: the shipped one)")
    args = parser.parse_args()
    analyzer = load_analyzer(PROJECT_DIR / "profile.yaml", PROJECT_DIR / "plans.yaml",
                             args.models)
    print(f"model {analyzer.model.ident}")
    print(f"{'set / style':<28} {'texts':>5} {'P':>6} {'R':>6} {'F1':>6} {'neg AUC':>8} "
          f"{'risk':>6}")
    everything: list[tuple[dict[str, object], Signal]] = []
    for path in SETS:
        records = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x]
        signals = analyzer.analyze([("", str(r["text"])) for r in records])
        everything += zip(records, signals, strict=True)
        print(line(Path(path).name, records, signals))
        by_style: dict[str, list[int]] = defaultdict(list)
        for n, r in enumerate(records):
            by_style[str(r.get("style", ""))].append(n)
        for style, rows in sorted(by_style.items()):
            print(line(f"  {style}", [records[n] for n in rows], [signals[n] for n in rows]))
    records = [r for r, _ in everything]
    signals = [s for _, s in everything]
    print(line("all", records, signals))
    shares = np.array([s.negative >= 0.5 for s in signals])
    truth = np.array([int(r["negative"]) for r in records])  # type: ignore[call-overload]
    print(f"negative ≥ 0.5: {shares[truth == 1].mean():.0%} of negative texts, "
          f"{shares[truth == 0].mean():.0%} of the others")
    wrong = [(r, s) for r, s in everything if int(r["health"]) != s.health]  # type: ignore[call-overload]
    print(f"\n{len(wrong)} wrong on the health label; the first {args.errors}:")
    for record, signal in wrong[: args.errors]:
        print(f"  truth {record['health']} score {signal.health_score:.2f}  "
              f"{str(record['text'])[:70]!r}")


if __name__ == "__main__":
    main()
