"""Build the demo scenario: `python -m monitor.demo.build` writes scenario.jsonl and
expected.json next to this file. Deterministic: the same inputs give the same bytes.

Inputs: incidents.jsonl (the incident texts written for the demo, with their minutes and
repost links) and the training corpus, from which the background is drawn: texts that are not
health-related, and health texts that are neither negative nor plan material, spread over the
48 hours by a seeded generator, some of them reposted by a second outlet minutes later.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path

from monitor.clock import SHANGHAI

HERE = Path(__file__).parent
CORPUS = HERE.parent.parent / "models" / "corpus"
START = datetime(2026, 3, 2, 8, 0, tzinfo=SHANGHAI)
HOURS = 48
BACKGROUND = 2400
REPOST_SHARE = 0.1
BACKGROUND_SOURCES = ["lincang-daily", "yunnan-net", "toutiao-yunnan", "thepaper", "weibo-hot",
                      "weibo-lincang", "zhihu", "tieba-lincang", "people-liuyan", "douyin-lincang"]
SUFFIXES = ["｜澎湃新闻", " - 云南网", "【转】", "转发：", "（来源：临沧日报）"]


def _title(text: str) -> str:
    first = text.replace("\n", " ").split("。")[0]
    return first[:36]


def build() -> tuple[list[dict[str, object]], dict[str, object]]:
    rng = random.Random(20260302)  # noqa: S311  (a reproducible scenario, not a secret)
    incident_lines = [json.loads(line) for line in
                      (HERE / "incidents.jsonl").read_text(encoding="utf-8").splitlines()]
    records: list[tuple[float, int, dict[str, object]]] = []
    expected: dict[str, dict[str, object]] = {}
    urls = [f"https://{line['source']}.example.cn/demo/{line['incident']}{n:03d}"
            for n, line in enumerate(incident_lines)]
    for n, line in enumerate(incident_lines):
        url = urls[n]
        record = {"type": "item", "source": line["source"], "url": url,
                  "title": line["title"], "text": line["text"]}
        records.append((float(line["minute"]), n, record))
        entry = expected.setdefault(line["incident"], {"urls": [], "minutes": [], "reposts": []})
        entry["urls"].append(url)  # type: ignore[attr-defined]
        entry["minutes"].append(line["minute"])  # type: ignore[attr-defined]
        if line["repost_of"] is not None:  # (repost, original)
            entry["reposts"].append([url, urls[line["repost_of"]]])  # type: ignore[attr-defined]

    pool = []
    for path in sorted(CORPUS.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            text = json.loads(line)
            if not text["health"] or not text["negative"]:
                pool.append(text["text"])
    chosen = rng.sample(pool, BACKGROUND)
    for n, text in enumerate(chosen):
        minute = rng.uniform(0, HOURS * 60 - 30)
        source = rng.choice(BACKGROUND_SOURCES)
        url = f"https://{source}.example.cn/news/{n:05d}"
        records.append((minute, 1000 + n, {"type": "item", "source": source, "url": url,
                                           "title": _title(text), "text": text}))
        if rng.random() < REPOST_SHARE:
            other = rng.choice([s for s in BACKGROUND_SOURCES if s != source])
            records.append((minute + rng.uniform(2, 90), 100_000 + n, {
                "type": "item", "source": other, "url": f"https://{other}.example.cn/r/{n:05d}",
                "title": _title(text) + rng.choice(SUFFIXES), "text": text}))

    # the duty office's actions on the big incidents
    def url_of(letter: str, index: int) -> str:
        return str(expected[letter]["urls"][index])  # type: ignore[index]

    actions = [
        (230.0, {"action": "ack", "item_url": url_of("C", 0), "by": "值班员甲"}),
        (260.0, {"action": "confirm", "item_url": url_of("C", 2), "level": "III", "by": "科长乙"}),
        (420.0, {"action": "milestone", "item_url": url_of("C", 0), "kind": "authoritative_release",
                 "url": "https://cangyuan-gov.example.cn/tb/1", "by": "值班员甲"}),
        (680.0, {"action": "ack", "item_url": url_of("A", 0), "by": "值班员甲"}),
        (700.0, {"action": "confirm", "item_url": url_of("A", 1), "level": "II", "by": "科长乙"}),
        (905.0, {"action": "milestone", "item_url": url_of("A", 0), "kind": "authoritative_release",
                 "url": "https://fengqing-gov.example.cn/tb/1", "by": "值班员甲"}),
        (1340.0, {"action": "ack", "item_url": url_of("B", 0), "by": "值班员丙"}),
        (1400.0, {"action": "milestone", "item_url": url_of("A", 5), "kind": "press_conference",
                  "url": "https://lincang-wjw.example.cn/fbh/1", "by": "科长乙"}),
        (1500.0, {"action": "close", "item_url": url_of("C", 0), "by": "科长乙"}),
    ]
    for n, (minute, act) in enumerate(actions):
        records.append((minute, 200_000 + n, {"type": "action", **act}))

    records.sort(key=lambda r: (r[0], r[1]))
    out = []
    for minute, _, record in records:
        at = (START + timedelta(minutes=minute)).replace(microsecond=0)
        out.append({"type": record.pop("type"), "at": at.isoformat(), **record})
    return out, {"start": START.isoformat(), "incidents": expected,
                 "background_items": sum(1 for r in records if r[1] >= 1000 and r[1] < 200_000)}


def main() -> None:
    records, expected = build()
    (HERE / "scenario.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    (HERE / "expected.json").write_text(json.dumps(expected, ensure_ascii=False, indent=1) + "\n",
                                        encoding="utf-8")
    print(f"wrote {len(records)} lines, {expected['background_items']} background items")


if __name__ == "__main__":
    main()
