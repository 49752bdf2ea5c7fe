"""The command line's classification rate: `monitor classify --jsonl` on 100,000 lines.

The texts are the frozen evaluation sets' (never trained on), repeated to the count asked for,
each line {"id", "title", "text"}. Prints the start-up time (an empty input) and, per run, the
wall time and items per second of the whole command, as a user would time it.

    python bench/classify_cli_bench.py [--items 100000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from monitor.analyze.lexicon import PROJECT_DIR

SETS = [PROJECT_DIR / "bench" / "data" / "unseen_eval_social.jsonl",
        PROJECT_DIR / "bench" / "data" / "unseen_eval_news.jsonl",
        PROJECT_DIR / "models" / "eval" / "heldout.jsonl"]
COMMAND = [sys.executable, "-m", "monitor", "classify", "--jsonl"]


def timed(stdin: Path) -> tuple[float, int]:
    """Seconds the command took on ``stdin``, and how many lines it wrote."""
    with stdin.open("rb") as given:
        start = time.perf_counter()
        done = subprocess.run(COMMAND, stdin=given, capture_output=True, check=True)  # noqa: S603
        return time.perf_counter() - start, done.stdout.count(b"\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    texts = [json.loads(line)["text"] for path in SETS
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        empty, given = Path(tmp) / "empty.jsonl", Path(tmp) / "items.jsonl"
        empty.write_text("")
        with given.open("w", encoding="utf-8") as out:
            for n in range(args.items):
                out.write(json.dumps({"id": n, "title": "", "text": texts[n % len(texts)]},
                                     ensure_ascii=False) + "\n")
        chars = sum(len(texts[n % len(texts)]) for n in range(args.items))
        print(f"{args.items:,} lines from {len(texts):,} texts, {chars / args.items:.0f} "
              "characters on average")
        start_up = min(timed(empty)[0] for _ in range(3))
        print(f"start-up (empty input): {start_up:.2f} s")
        for run in range(1, args.runs + 1):
            seconds, written = timed(given)
            if written != args.items:
                raise SystemExit(f"run {run}: {written:,} results for {args.items:,} lines")
            print(f"run {run}: {seconds:.2f} s, {args.items / seconds:,.0f} items/s")


if __name__ == "__main__":
    main()
