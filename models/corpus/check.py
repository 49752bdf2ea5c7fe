"""Check a corpus part: python3 models/corpus/check.py FILE.jsonl"""
import json, sys, collections
TOPICS = {"access_to_care","medical_dispute","public_health","vaccine_drug","food_safety",
          "elderly_care","work_safety","maternal_child","health_policy"}
STYLES = {"headline","lead","article","weibo","forum","hotline","notice"}
path = sys.argv[1]
seen = set(); stats = collections.Counter(); bad = 0
for n, line in enumerate(open(path, encoding="utf-8"), 1):
    line = line.strip()
    if not line: continue
    try:
        r = json.loads(line)
        assert set(r) == {"text","style","health","topics","negative"}, f"keys {sorted(r)}"
        assert isinstance(r["text"], str) and len(r["text"]) >= 6, "text too short"
        assert r["style"] in STYLES, f"style {r['style']}"
        assert r["health"] in (0, 1), "health must be 0 or 1"
        assert r["negative"] in (0, 1), "negative must be 0 or 1"
        assert isinstance(r["topics"], list) and set(r["topics"]) <= TOPICS, f"topics {r['topics']}"
        assert r["health"] == 1 or not r["topics"], "non-health item with topics"
        assert r["text"] not in seen, "duplicate text"
        seen.add(r["text"])
        stats[("health" if r["health"] else "other", r["style"])] += 1
        for t in r["topics"]: stats[("topic", t)] += 1
        stats[("negative", r["negative"])] += 1
    except (AssertionError, json.JSONDecodeError) as e:
        bad += 1; print(f"{path}:{n}: {e}")
print(f"{len(seen)} good lines, {bad} bad")
for k, v in sorted(stats.items(), key=str): print(k, v)
