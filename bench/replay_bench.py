"""Replay benchmark: a long scenario through the whole pipeline (store, analysis, stories,
clustering, heat, timeline) on the simulated clock, as `monitor replay` runs it less the response
clocks (so its batches run from tick to tick): the lines are prepared (parsed and analysed) in a
second process.

The scenario is generated into a file first (not timed, never held in memory) and replayed from
it as `monitor replay FILE` reads it: texts made of three sentences of three corpus texts (30 %
drawn from health-related ones) from 30 sources at --per-day items a day (a city-level stream),
one in ten with a media suffix on its title, and the demo's incidents replayed every two days at
shifted times, so clustering, merging and level proposals have real work. Prints items per
second and RSS (this process's and that of the second process preparing the lines) every
100,000 items, so that a run past the 72-hour windows shows whether memory stays flat.

    python bench/replay_bench.py [--items 200000] [--per-day 50000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psutil

from monitor.analyze.analyzer import load_analyzer
from monitor.analyze.lexicon import PROJECT_DIR
from monitor.analyze.stage import AnalysisStage
from monitor.clock import SimClock
from monitor.demo.build import START
from monitor.gc_thresholds import collect_less
from monitor.incidents import make_engine
from monitor.incidents.prepare import Models
from monitor.incidents.replay import replay
from monitor.incidents.settings import load_incident_settings
from monitor.incidents.stage import IncidentStage
from monitor.store import Store

CORPUS = PROJECT_DIR / "models" / "corpus"
INCIDENTS = PROJECT_DIR / "monitor" / "demo" / "incidents.jsonl"
SOURCES = [f"source-{n:02d}" for n in range(30)]
HEALTH_SHARE = 0.3  # of the background; a city's general and social feeds are mostly other news


def scenario(count: int, per_day: int) -> Iterator[str]:
    rng = random.Random(7)  # noqa: S311  (a reproducible scenario, not a secret)
    records = [json.loads(line) for path in sorted(CORPUS.glob("*.jsonl"))
               for line in path.read_text(encoding="utf-8").splitlines()]
    health = [r["text"] for r in records if r["health"]]
    other = [r["text"] for r in records if not r["health"]]
    bursts = [json.loads(line) for line in INCIDENTS.read_text(encoding="utf-8").splitlines()]
    gap = 86400 / per_day
    burst_at, burst_round, queue = 0.0, 0, list(bursts)
    for n in range(count):
        seconds = n * gap
        if seconds >= burst_at and queue:
            line = queue[0]
            if seconds >= burst_at + line["minute"] * 60:
                queue.pop(0)
                yield _item(seconds, line["source"], f"https://b.example/{burst_round}/{n}",
                            line["title"], line["text"])
                if not queue:
                    burst_round += 1
                    burst_at += 2 * 86400
                    queue = list(bursts)
                continue
        texts = health if rng.random() < HEALTH_SHARE else other
        # three sentences of three corpus texts, so that the stream does not repeat itself:
        # a city's stream is mostly distinct items, not 5,800 texts reposted 30 times each
        parts = [rng.choice(rng.choice(texts).split("。")) for _ in range(3)]
        text = "。".join(p for p in parts if p) + "。"
        source = rng.choice(SOURCES)
        title = f"{parts[0][:30]}（{rng.randrange(1, 13)}月{rng.randrange(1, 29)}日）"
        if rng.random() < 0.1:
            title += rng.choice(["｜转载", "【转】", " - 网易"])
        yield _item(seconds, source, f"https://{source}.example/{n}", title, text)


def _item(seconds: float, source: str, url: str, title: str, text: str) -> str:
    at = (START + timedelta(seconds=seconds)).isoformat()
    return json.dumps({"type": "item", "at": at, "source": source, "url": url, "title": title,
                       "text": text}, ensure_ascii=False)


def write_scenario(count: int, per_day: int, path: Path) -> None:
    start = time.perf_counter()
    with path.open("w", encoding="utf-8") as out:
        for line in scenario(count, per_day):
            out.write(line + "\n")
    print(f"scenario of {count:,} items written in {time.perf_counter() - start:.0f} s "
          f"({path.stat().st_size / 2**20:,.0f} MB)", flush=True)


async def run(count: int, per_day: int, scratch: Path) -> None:
    path = scratch / "scenario.jsonl"
    write_scenario(count, per_day, path)
    process = psutil.Process()
    analyzer = load_analyzer(PROJECT_DIR / "profile.yaml", PROJECT_DIR / "plans.yaml")
    store = Store(f"sqlite:///{scratch / 'bench.db'}", durable=False)  # as `monitor replay`
    clock = SimClock(START)
    incidents = IncidentStage(store, make_engine(analyzer, load_incident_settings()), clock)
    events: dict[str, int] = {}
    seen = 0
    start = time.perf_counter()

    second_peak = second_cpu = 0.0
    cpu_before = process.cpu_times()

    def second_rss() -> float:
        """The process preparing the lines (prepare.py), in MB; its CPU time so far too."""
        nonlocal second_peak, second_cpu
        children = process.children()
        rss = sum(c.memory_info().rss for c in children) / 2**20
        second_peak = max(second_peak, rss)
        second_cpu = max(second_cpu, sum(sum(c.cpu_times()[:2]) for c in children))
        return rss

    def counted(lines: Iterator[str]) -> Iterator[str]:
        nonlocal seen
        for line in lines:
            seen += 1
            if seen % 100_000 == 0:
                took = time.perf_counter() - start
                print(f"  {seen:>9,} items  {seen / took:>7,.0f} items/s  "
                      f"RSS {process.memory_info().rss / 2**20:>4.0f} MB "
                      f"(second process {second_rss():>4.0f} MB)  "
                      f"clusters {len(incidents.engine.clusters):>6,}", flush=True)
            yield line
        second_rss()  # the second process may be gone once the replay ends

    def emit(event: dict[str, object]) -> None:
        events[str(event["type"])] = events.get(str(event["type"]), 0) + 1

    try:
        with path.open(encoding="utf-8") as lines:
            report = await replay(
                counted(lines), store, AnalysisStage(store, analyzer, clock), incidents, clock,
                emit, lambda message: None, models=Models(
                    PROJECT_DIR / "profile.yaml", PROJECT_DIR / "plans.yaml",
                    PROJECT_DIR / "models", after_lines=0))  # a long scenario, as the CLI sees
    finally:
        store.close()
    took = time.perf_counter() - start
    days = count / per_day
    print(f"{report.items:,} items over {days:.1f} simulated days in {took:.0f} s: "
          f"{report.items / took:,.0f} items/s")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB, "
          f"second process {second_peak:.0f} MB (sampled); "
          f"database {(scratch / 'bench.db').stat().st_size / 2**20:.0f} MB")
    cpu = process.cpu_times()
    main_cpu = cpu.user + cpu.system - cpu_before.user - cpu_before.system
    # the main process stores and decides, the second prepares: the busier one sets the pace
    print(f"CPU time: main process {main_cpu:.1f} s ({main_cpu / report.items * 1e6:.0f} µs an "
          f"item), second process {second_cpu:.1f} s (when the last line was read)")
    print("timeline:", ", ".join(f"{k} {v:,}" for k, v in sorted(events.items())))


def main() -> None:
    collect_less()  # as the `monitor` command does
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--per-day", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="replay-bench-") as scratch:
        asyncio.run(run(args.items, args.per_day, Path(scratch)))


if __name__ == "__main__":
    main()
