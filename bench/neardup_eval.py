"""Near-duplicate detection on 500 labelled pairs of titles and short posts (bench/data).

Each pair goes through a fresh StoryIndex with the shipped settings: the second text either
joins the first one's story or starts its own. Prints precision and recall, and recall or
false-merge rate by kind of edit, and the time per text.

    python bench/neardup_eval.py
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from monitor.incidents.settings import load_incident_settings
from monitor.incidents.stories import StoryIndex, sketch

PAIRS = Path(__file__).parent / "data" / "near_duplicates.jsonl"


def main() -> None:
    pairs = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines()]
    settings = load_incident_settings().near_duplicate
    at = datetime(2026, 3, 2, tzinfo=UTC)
    verdicts = []
    start = time.perf_counter()
    for pair in pairs:
        index = StoryIndex(settings.containment, settings.candidates, settings.window)
        index.add(1, sketch(pair["a"]), at)
        verdicts.append(index.add(2, sketch(pair["b"]), at) == 1)
    per_text = (time.perf_counter() - start) / (2 * len(pairs)) * 1e6
    tp = sum(v and p["same"] for v, p in zip(verdicts, pairs, strict=True))
    fp = sum(v and not p["same"] for v, p in zip(verdicts, pairs, strict=True))
    positives = sum(p["same"] for p in pairs)
    print(f"{len(pairs)} pairs ({positives} same story), containment ≥ {settings.containment}, "
          f"candidates at Jaccard ≥ {settings.candidates}")
    print(f"precision {tp / max(1, tp + fp):.3f}, recall {tp / positives:.3f}, "
          f"{per_text:.0f} µs per text (fresh index each pair)")
    kinds = Counter(p["kind"] for p in pairs)
    merged = Counter(p["kind"] for v, p in zip(verdicts, pairs, strict=True) if v)
    for kind, total in sorted(kinds.items()):
        same = next(p["same"] for p in pairs if p["kind"] == kind)
        label = "found" if same else "wrongly merged"
        print(f"  {kind:<12} {label:<15} {merged[kind]:>3}/{total}")


if __name__ == "__main__":
    main()
