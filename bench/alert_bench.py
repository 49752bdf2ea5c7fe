"""Alert latency benchmark: 10,000 alerts written to the outbox at a steady rate, routed to 20
loopback robots (WeCom's protocol, no rate limit applying), delivered by the outbox sender as
in the service. Prints the time from the outbox row to its receipt at the robot, p50 and p99.

    python bench/alert_bench.py [--alerts 10000] [--rate 100] [--robots 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from monitor.clock import WallClock
from monitor.collect.normalize import normalize_url
from monitor.incidents.engine import Changes
from monitor.notify.routing import Match, Routing, Rule
from monitor.notify.sender import Links, Sender
from monitor.notify.settings import ChannelsFile, WeCom
from monitor.records import Incident, IncidentStatus, Item
from monitor.response.roster import load_roster
from monitor.store import Store
from monitor.store.incidents import apply_changes
from monitor.store.items import insert_items
from monitor.store.response import add_outbox


async def run(alerts: int, rate: float, robots: int, scratch: Path) -> None:
    received: dict[str, float] = {}
    all_in = asyncio.Event()

    async def robot(request: web.Request) -> web.Response:
        body = await request.json()
        content = body["markdown"]["content"]
        received[content.split("bench-", 1)[1].split("**", 1)[0]] = time.time()
        if len(received) >= alerts:
            all_in.set()
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    app = web.Application()
    app.router.add_post("/cgi-bin/webhook/send", robot)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    os.environ["BENCH_KEY"] = "k"

    store = Store(f"sqlite:///{scratch / 'alerts.db'}")
    clock = WallClock()
    now = clock.now()
    items = [Item(source="s", ident=f"u:{n}", guid=None, url=f"https://b.example/{n}",
                  url_norm=normalize_url(f"https://b.example/{n}"), title=f"t{n}",
                  title_norm=f"t{n}", summary="", published_at=None, fetched_at=now,
                  content_hash=f"{n:064x}") for n in range(robots)]
    stored = store.transaction(lambda c: insert_items(c, items, now)).new
    changes = Changes()
    for n, item in enumerate(stored):
        changes.incidents[n + 1] = Incident(n + 1, IncidentStatus.OPEN, f"事件{n}", now, now,
                                            item.id or 0, "s", region=f"region-{n}")
    store.transaction(lambda c: apply_changes(c, changes))
    channels = ChannelsFile(channels=[
        WeCom(name=f"robot-{n}", type="wecom", key_env="BENCH_KEY", per_minute=10**9,
              base_url=f"http://127.0.0.1:{port}") for n in range(robots)])
    routing = Routing(rules=[Rule(name=f"r{n}", match=Match(regions=[f"region-{n}"]),
                                  channels=[f"robot-{n}"]) for n in range(robots)])
    created: dict[str, float] = {}
    async with aiohttp.ClientSession() as session:
        sender = Sender(store, channels, routing, load_roster(), clock, session,
                        Links(lambda i: f"https://y.example/incidents/{i}", lambda r, c: None))
        task = asyncio.create_task(sender.run())
        started = time.perf_counter()
        batch = max(1, int(rate / 10))
        for first in range(0, alerts, batch):
            rows = []
            for n in range(first, min(alerts, first + batch)):
                created[str(n)] = time.time()
                rows.append({"key": f"bench:{n}", "incident_id": n % robots + 1,
                             "created_at": clock.now(), "kind": "reminder", "person": "duty-a",
                             "role": "duty_officer", "channels": {"wecom": "a"},
                             "data": {"title": f"bench-{n}", "level": "III"},
                             "next_attempt_at": clock.now()})
            await store.run(lambda c, r=rows: add_outbox(c, r))
            sender.wake()
            await asyncio.sleep(max(0.0, started + (first + batch) / rate
                                    - time.perf_counter()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_in.wait(), 120)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    await runner.cleanup()
    store.close()
    latency = sorted(received[k] - created[k] for k in received)
    print(f"{len(received):,} of {alerts:,} alerts received from {robots} robots at "
          f"{rate:g} alerts/s")
    print(f"latency: p50 {statistics.median(latency) * 1000:.0f} ms, "
          f"p99 {latency[int(len(latency) * 0.99)] * 1000:.0f} ms, "
          f"max {latency[-1] * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--robots", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="alert-bench-") as scratch:
        asyncio.run(run(args.alerts, args.rate, args.robots, Path(scratch)))


if __name__ == "__main__":
    main()
