"""Check a corpus part (keys, labels, duplicates) and print its counts:

    python3 models/corpus/check.py FILE.jsonl

Exits 1 when a line is bad, naming the line and what is wrong with it.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import Any

KEYS = {"text", "style", "health", "topics", "negative"}
TOPICS = {"access_to_care", "medical_dispute", "public_health", "vaccine_drug", "food_safety",
          "elderly_care", "work_safety", "maternal_child", "health_policy"}
STYLES = {"headline", "lead", "article", "weibo", "repost", "rumour", "wellness", "forum",
          "hotline", "notice"}


def problem(record: Any, seen: set[str]) -> str | None:
    """What is wrong with one record, or None."""
    if not isinstance(record, dict) or set(record) - {"risk"} != KEYS:
        return f"keys must be {sorted(KEYS)} (and \"risk\" in an evaluation set)"
    checks = [
        (isinstance(record["text"], str) and len(record["text"]) >= 6, "text too short"),
        (record["style"] in STYLES, f"unknown style {record['style']!r}"),
        (record["health"] in (0, 1), "health must be 0 or 1"),
        (record["negative"] in (0, 1), "negative must be 0 or 1"),
        (record.get("risk", 0) in (0, 1), "risk must be 0 or 1"),
        (isinstance(record["topics"], list) and set(record["topics"]) <= TOPICS,
         f"unknown topics {record['topics']}"),
        (record["health"] == 1 or not record["topics"], "a non-health text has topics"),
        (record["text"] not in seen, "duplicate text"),
    ]
    return next((message for ok, message in checks if not ok), None)


def main(path: str) -> int:
    seen: set[str] = set()
    counts: Counter[tuple[str, object]] = Counter()
    bad = 0
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                wrong: str | None = f"not JSON ({exc})"
            else:
                wrong = problem(record, seen)
            if wrong:
                bad += 1
                print(f"{path}:{number}: {wrong}")
                continue
            seen.add(record["text"])
            counts["health" if record["health"] else "other", record["style"]] += 1
            counts.update(("topic", topic) for topic in record["topics"])
            counts["negative", record["negative"]] += 1
    print(f"{len(seen)} good lines, {bad} bad")
    for key, count in sorted(counts.items(), key=str):
        print(key, count)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
