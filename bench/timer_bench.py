"""Timer benchmark, in real time: 1,000 open level-II incidents whose deadlines fall due,
staggered, over the next few minutes; the response stage runs as in the service (APScheduler
wakes it, the store holds every action). Prints how late each due action was done (every one
should be within 15 s) and the stage's CPU use while nothing is due.

    python bench/timer_bench.py [--incidents 1000] [--window 120] [--idle 30]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import psutil
from sqlalchemy import select

from monitor.clock import WallClock
from monitor.collect.normalize import normalize_title, normalize_url
from monitor.incidents.engine import Changes
from monitor.records import Incident, IncidentStatus, Item, TimelineEvent
from monitor.response.clocks import Clocks
from monitor.response.policy import load_policy
from monitor.response.roster import load_roster
from monitor.response.stage import ResponseStage
from monitor.store import Store
from monitor.store.incidents import apply_changes
from monitor.store.items import insert_items
from monitor.store.schema import due_actions

# the deadline of each incident that falls inside the window: the 2 h internal report, the
# 3 h release target or the 5 h hard deadline (whose miss also goes to leadership)
HOURS = (2, 3, 5)


def seed(store: Store, count: int, window: float, now: datetime) -> None:
    items = [Item(source=f"source-{n % 30}", ident=f"u:https://b.example/{n}", guid=None,
                  url=f"https://b.example/{n}", url_norm=normalize_url(f"https://b.example/{n}"),
                  title=f"事件{n}", title_norm=normalize_title(f"事件{n}"), summary="",
                  published_at=None, fetched_at=now, content_hash=f"{n:064x}")
             for n in range(count)]
    stored = store.transaction(lambda c: insert_items(c, items, now)).new
    changes = Changes()
    for n, item in enumerate(stored):
        # opened long enough ago that one deadline falls 20 s … 20 s + window from now
        due_in = 20 + window * n / count
        opened = now - timedelta(hours=HOURS[n % len(HOURS)]) + timedelta(seconds=due_in)
        incident = Incident(id=n + 1, status=IncidentStatus.CONFIRMED, title=item.title,
                            opened_at=opened, updated_at=opened, first_item_id=item.id or 0,
                            first_source=item.source, proposed_level="II", level="II")
        changes.incidents[incident.id] = incident
        changes.timeline.append(TimelineEvent(incident.id, opened, "opened", "system",
                                              {"title": item.title, "level": "II"}))
    store.transaction(lambda c: apply_changes(c, changes))


async def run(count: int, window: float, idle: float, scratch: Path) -> None:
    store = Store(f"sqlite:///{scratch / 'timer.db'}")
    clock = WallClock()
    start = clock.now()
    seed(store, count, window, start)
    stage = ResponseStage(store, Clocks(load_policy(), load_roster()), clock)
    process = psutil.Process()
    task = asyncio.create_task(stage.run())
    began = time.perf_counter()
    try:
        horizon = start + timedelta(seconds=20 + window)
        # the last deadline of the window, and the 15 s the target allows after it
        await asyncio.sleep((horizon - clock.now()).total_seconds() + 15)
        print(f"planned and ran {count:,} incidents in {time.perf_counter() - began:.0f} s")
        cpu_before, wall_before = process.cpu_times(), time.perf_counter()
        await asyncio.sleep(idle)
        cpu_after = process.cpu_times()
        idle_wall = time.perf_counter() - wall_before
        idle_cpu = max(0.0, cpu_after.user + cpu_after.system - cpu_before.user
                       - cpu_before.system)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    rows = store.transaction(lambda c: c.execute(
        select(due_actions.c.kind, due_actions.c.due_at, due_actions.c.done_at)
        .where(due_actions.c.status == "done", due_actions.c.due_at <= horizon)).all())
    pending = store.transaction(lambda c: c.execute(
        select(due_actions.c.id).where(due_actions.c.status == "pending",
                                       due_actions.c.due_at <= horizon)).all())
    store.close()
    late = sorted((done - max(due, start)).total_seconds() for _, due, done in rows)
    kinds: dict[str, int] = {}
    for kind, _, _ in rows:
        kinds[kind] = kinds.get(kind, 0) + 1
    print(f"due actions done: {len(rows):,} ({', '.join(f'{k} {v:,}' for k, v in kinds.items())}"
          f"); still pending though due: {len(pending)}")
    print(f"lateness: median {statistics.median(late):.2f} s, p99 "
          f"{late[int(len(late) * 0.99)]:.2f} s, max {late[-1]:.2f} s; within 15 s: "
          f"{sum(x <= 15 for x in late) / len(late):.1%}")
    print(f"idle: {idle_cpu * 1000:.0f} ms CPU over {idle_wall:.0f} s ({idle_cpu / idle_wall:.3%} of a "
          f"core); peak RSS {process.memory_info().rss / 2**20:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--window", type=float, default=120.0)
    parser.add_argument("--idle", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="timer-bench-") as scratch:
        asyncio.run(run(args.incidents, args.window, args.idle, Path(scratch)))


if __name__ == "__main__":
    main()
