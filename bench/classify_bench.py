"""Classification benchmark: 100,000 mixed items through the full analysis in one process.

Items are drawn from the corpus in its mix of styles (headlines, leads, long articles, Weibo
posts, forum and hotline texts, notices), half of them as a title plus a body, as feeds
deliver them. Prints model load time, items and characters per second, peak memory, where the
time goes, and, on the same texts, plain ``jieba.lcut``'s rate and the ratio between the two.

    python bench/classify_bench.py [--items 100000] [--batch 1000]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import time

import jieba
import psutil

from monitor.analyze.analyzer import load_analyzer, make_doc
from monitor.analyze.lexicon import PROJECT_DIR
from monitor.analyze.text import normalize

CORPUS = PROJECT_DIR / "models" / "corpus"


def mixed_items(count: int) -> list[tuple[str, str]]:
    texts = [json.loads(line)["text"] for path in sorted(CORPUS.glob("*.jsonl"))
             for line in path.read_text(encoding="utf-8").splitlines()]
    rng = random.Random(0)  # noqa: S311  (a reproducible sample, not a secret)
    items = []
    for _ in range(count):
        if rng.random() < 0.5:
            items.append(("", rng.choice(texts)))
        else:  # a headline over another text's body, as a feed entry
            items.append((rng.choice(texts)[:40], rng.choice(texts)))
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    process = psutil.Process()

    items = mixed_items(args.items)
    chars = sum(len(t) + len(b) for t, b in items)
    print(f"{len(items):,} items, {chars / len(items):.0f} characters on average")

    start = time.perf_counter()
    analyzer = load_analyzer(PROJECT_DIR / "profile.yaml", PROJECT_DIR / "plans.yaml")
    print(f"model load: {time.perf_counter() - start:.2f} s (taxonomy, profile, segmenter "
          f"dictionary, model arrays, {len(analyzer.plans.plans)} plans)")
    rss_before = process.memory_info().rss

    start = time.perf_counter()
    health = 0
    for at in range(0, len(items), args.batch):
        health += sum(s.health for s in analyzer.analyze(items[at:at + args.batch]))
    seconds = time.perf_counter() - start
    print(f"analysis: {len(items) / seconds:,.0f} items/s, {chars / seconds / 1e6:.1f} M chars/s "
          f"({seconds:.2f} s; {health:,} health-related)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"memory: peak RSS {peak:.0f} MB ({rss_before / 2**20:.0f} MB after loading)")

    # where the time goes, on a tenth of the items, in the same batches
    sample = items[: len(items) // 10]
    spent = dict.fromkeys(("normalise", "segment", "features+model", "plans+places"), 0.0)
    for at in range(0, len(sample), args.batch):
        t0 = time.perf_counter()
        normed = [normalize(f"{t}\n{b}") for t, b in sample[at:at + args.batch]]
        t1 = time.perf_counter()
        docs = [make_doc(analyzer.segmenter, text) for text in normed]
        t2 = time.perf_counter()
        analyzer.model.predict(docs)
        t3 = time.perf_counter()
        for text in normed:
            analyzer.plans.match("", text)
            analyzer.places.find(text)
        t4 = time.perf_counter()
        for name, took in zip(spent, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            spent[name] += took
    print("per item: " + ", ".join(f"{name} {took * 1e6 / len(sample):.1f} µs"
                                   for name, took in spent.items()))

    jieba.setLogLevel(60)
    jieba.initialize()
    start = time.perf_counter()
    for title, body in items:
        jieba.lcut(f"{title} {body}")
    jieba_seconds = time.perf_counter() - start
    print(f"plain jieba.lcut on the same texts: {len(items) / jieba_seconds:,.0f} items/s, "
          f"{chars / jieba_seconds / 1e6:.2f} M chars/s ({jieba_seconds:.1f} s)")
    print(f"full analysis is {jieba_seconds / seconds:.1f}x the rate of jieba.lcut alone")


if __name__ == "__main__":
    main()
