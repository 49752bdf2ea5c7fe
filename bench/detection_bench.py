"""Incident detection on a 48-hour replay: how late each planted story opens, and how many
incidents open that no planted story explains.

The scenario is built from text the model was never trained on: the frozen evaluation sets
(bench/data/unseen_eval_*.jsonl, models/eval/heldout.jsonl) spread at random over two days as
background, lookalike items of the stories' places and topics, and the stories of
bench/data/detection_stories.json (a rumour of deaths, a calm burst of an epidemic notice, a
school poisoning, a medical dispute, abuse in a nursing home, an accident with casualties, and
three that should open nothing) planted at fixed hours. It runs through `monitor replay` on
its private database, the same code as the service, and reads the timeline it prints.

    python bench/detection_bench.py [--seed 0] [--out scenario.jsonl]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.analyze.lexicon import PROJECT_DIR
from monitor.clock import SHANGHAI

DATA = PROJECT_DIR / "bench" / "data"
START = datetime(2026, 3, 2, 0, 0, tzinfo=SHANGHAI)
HOURS = 48
SOCIAL = ["weibo-hot", "weibo-city", "weibo-local", "douyin", "toutiao", "tieba", "zhihu",
          "xiaohongshu", "kuaishou", "wechat-group"]
NEWS = ["xinhua", "people", "thepaper", "city-daily", "province-net", "county-gov", "city-wjw",
        "12345-hotline", "people-liuyan", "portal-news"]
SOCIAL_STYLES = {"weibo", "repost", "rumour", "forum", "wellness"}


def title_of(text: str) -> str:
    """The first line, up to its first full stop or 40 characters, as feeds cut titles."""
    first = text.strip().split("\n", 1)[0]
    for mark in "。！？!?":
        if mark in first[:40]:
            return first[: first.index(mark) + 1]
    return first[:40]


def build(seed: int) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """The scenario's records in time order, and each story with its items' URLs and times."""
    rng = random.Random(seed)  # noqa: S311  (a reproducible scenario, not a secret)
    records: list[dict[str, Any]] = []
    sets = [*sorted(DATA.glob("unseen_eval_*.jsonl")), PROJECT_DIR / "models" / "eval" /
            "heldout.jsonl"]
    texts = [json.loads(x) for path in sets for x in path.read_text("utf-8").splitlines() if x]
    for n, record in enumerate(texts):
        sources = SOCIAL if record.get("style") in SOCIAL_STYLES else NEWS
        at = START + timedelta(seconds=rng.uniform(0, HOURS * 3600))
        records.append({"type": "item", "at": at, "source": rng.choice(sources),
                        "url": f"https://background.example/{n}",
                        "title": title_of(record["text"]), "text": record["text"]})
    stories = json.loads((DATA / "detection_stories.json").read_text("utf-8"))
    for n, look in enumerate(stories["background_lookalikes"]):
        at = START + timedelta(seconds=rng.uniform(0, HOURS * 3600))
        records.append({"type": "item", "at": at, "source": look["source"],
                        "url": f"https://lookalike.example/{n}", "title": look["title"],
                        "text": look["text"]})
    planted: dict[str, dict[str, Any]] = {}
    for k, story in enumerate(stories["stories"]):
        begin = START + timedelta(hours=4 + 4.5 * k, minutes=rng.uniform(0, 60))
        times, urls = [], []
        for n, entry in enumerate(story["items"]):
            at = begin + timedelta(minutes=entry["minute"], seconds=rng.uniform(0, 50))
            url = f"https://story-{story['key']}.example/{n}"
            records.append({"type": "item", "at": at, "source": entry["source"], "url": url,
                            "title": entry["title"], "text": entry["text"]})
            times.append(at)
            urls.append(url)
        planted[story["key"]] = {**story, "times": times, "urls": urls}
    records.sort(key=lambda r: r["at"])
    for record in records:
        record["at"] = record["at"].isoformat()
    return records, planted


def replay(records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], float]:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "scenario.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                        "utf-8")
        began = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "monitor", "replay", str(path)],  # noqa: S603
                              capture_output=True, text=True, check=True, cwd=PROJECT_DIR)
        seconds = time.perf_counter() - began
    return [json.loads(x) for x in done.stdout.splitlines() if x.startswith("{")], seconds


def report(events: list[dict[str, Any]], planted: dict[str, dict[str, Any]]) -> int:
    """Prints a line per story and per unexplained incident; returns how many of the latter.

    A story's incident is the one holding most of its items; its lag is from the story's 5th
    item to when that incident opened (negative: the story joined an incident already open).
    Purity is the share of that incident's items that belong to the story. An incident holding
    fewer than three items of any story that should open is a false one."""
    story_of = {url: key for key, s in planted.items() for url in s["urls"]}
    opened = {e["incident"]: e for e in events if e["type"] == "opened"}
    merged = {e["incident"]: e["into"] for e in events if e["type"] == "merged"}

    def final(incident: int) -> int:
        while incident in merged:
            incident = merged[incident]
        return incident

    urls: dict[int, list[str]] = defaultdict(list)
    for e in events:
        if e["type"] == "item_added":
            urls[final(e["incident"])].append(e["url"])
    print(f"{'story':<6} {'kind':<16} {'items':>5} {'in it':>5} {'purity':>6} "
          f"{'opened after 5th':>16} {'首发 first':>10}  why")
    for key, story in planted.items():
        homes = Counter(i for i, its in urls.items() for u in its if story_of.get(u) == key)
        if not homes:
            verdict = "not opened" if story["should_open"] else "quiet (right)"
            print(f"{key:<6} {story['kind']:<16} {len(story['urls']):>5} {0:>5} {'':>6} "
                  f"{verdict:>16}")
            continue
        home, count = homes.most_common(1)[0]
        first = min((opened[i] for i in opened if final(i) == home), key=lambda e: e["at"])
        fifth = story["times"][min(4, len(story["times"]) - 1)]
        lag = (datetime.fromisoformat(first["at"]) - fifth).total_seconds() / 60
        purity = sum(story_of.get(u) == key for u in urls[home]) / len(urls[home])
        verdict = f"{lag:+.0f} min" if story["should_open"] else "opened (wrong)"
        print(f"{key:<6} {story['kind']:<16} {len(story['urls']):>5} {count:>5} {purity:>6.0%} "
              f"{verdict:>16} {'yes' if urls[home][0] == story['urls'][0] else 'no':>10}  "
              f"{first.get('why', '')}" + (f"  (also in {len(homes) - 1} other)"
                                           if len(homes) > 1 else ""))
    real = {i for i, its in urls.items()
            if any(sum(story_of.get(u) == k for u in its) >= 3
                   for k, s in planted.items() if s["should_open"])}
    false = sorted({final(i) for i in opened} - real)
    print(f"\n{len(false)} false incidents (no planted story that should open explains them):")
    for incident in false:
        mix = Counter(story_of.get(u, "background") for u in urls[incident])
        print(f"  #{incident} {opened[incident]['title'][:40]}  {opened[incident].get('why')}  "
              f"[{', '.join(f'{k}: {n}' for k, n in mix.most_common())}]")
    return len(false)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0, help="background placement")
    parser.add_argument("--out", type=Path, help="also write the scenario here")
    args = parser.parse_args()
    records, planted = build(args.seed)
    if args.out:
        args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                            "utf-8")
    items = sum(r["type"] == "item" for r in records)
    print(f"{items} items over {HOURS} h, {len(planted)} planted stories, seed {args.seed}")
    events, seconds = replay(records)
    print(f"replayed in {seconds:.1f} s\n")
    report(events, planted)


if __name__ == "__main__":
    main()
