"""Dashboard load benchmark: 10,000 incidents (300 of them live, with deadlines and timelines)
and 1,000,000 items in the store; concurrent signed-in clients on loopback fetch the board
and incident pages for a while. Prints p50 and p95 latency per page (target p95 < 100 ms).

    python bench/web_bench.py [--items 1000000] [--incidents 10000] [--live 300]
                              [--clients 20] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy import text

from monitor.app import build_app
from monitor.clock import SimClock
from monitor.config import load_settings
from monitor.store import Store
from monitor.store.users import add_user
from monitor.web.auth import hash_password

NOW = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
PASSWORD = "bench-password-1"  # noqa: S105  (a throw-away user of the bench)


def fill(url: str, count: int, incidents: int, live: int) -> None:
    """Rows written straight through the driver: this is the store's size, not its speed."""
    store = Store(url)
    old = (NOW - timedelta(days=30)).strftime("%Y-%m-%d %H:%M:%S.%f")
    now = NOW.strftime("%Y-%m-%d %H:%M:%S.%f")
    rng = random.Random(3)  # noqa: S311  (a reproducible store, not a secret)
    per = count // incidents
    with store.engine.begin() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        raw.executemany(
            "INSERT INTO items (id, source, ident, url, url_norm, title, title_norm, summary,"
            " fetched_at, content_hash) VALUES (?, ?, ?, ?, ?, ?, ?, '', ?, ?)",
            ((n, f"source-{n % 30}", f"u:{n}", f"https://b.example/{n}",
              f"https://b.example/{n}", f"事件{n // per}的第{n % per}条信息", f"t{n}", old,
              f"{n:064x}") for n in range(1, count + 1)))
        raw.executemany(
            "INSERT INTO signals (item_id, health, health_score, topics, negative, plans,"
            " places, model, analysed_at) VALUES (?, 1, 0.9, '[]', ?, '[]', '[]', 'b', ?)",
            ((n, rng.random(), old) for n in range(1, count + 1)))
        raw.executemany(
            "INSERT INTO incidents (id, status, title, opened_at, updated_at, first_item_id,"
            " first_source, topics, keywords, places, items, stories, sources, negative_share,"
            " heat, proposed_level, level) VALUES (?, ?, ?, ?, ?, ?, 's', '[\"food_safety\"]',"
            " '[]', '[]', ?, ?, 5, 0.6, ?, 'III', NULL)",
            ((i, "open" if i > incidents - live else "closed", f"事件{i}", old, old,
              (i - 1) * per + 1, per, per, rng.random() * 50) for i in range(1, incidents + 1)))
        raw.executemany(
            "INSERT INTO incident_items (item_id, incident_id, added_at) VALUES (?, ?, ?)",
            ((n, min(incidents, (n - 1) // per + 1), old) for n in range(1, count + 1)))
        raw.executemany(
            "INSERT INTO timeline (incident_id, at, type, actor, data) VALUES (?, ?, ?, ?, ?)",
            ((i, old, kind, "system", json.dumps({"label": "回应（48小时内）"}))
             for i in range(1, incidents + 1)
             for kind in ("opened", "level_proposed", "deadline_set", "notified", "reminder")))
        raw.executemany(
            "INSERT INTO deadlines (incident_id, key, label, met_by, hard, due_at, status)"
            " VALUES (?, 'response', '回应（48小时内）', '[]', 0, ?, 'pending')",
            ((i, now) for i in range(incidents - live + 1, incidents + 1)))
        last = raw.execute("SELECT max(id) FROM timeline").fetchone()[0]
        for stage, position in (("incidents", count), ("response", last)):
            conn.execute(text("INSERT INTO stage_cursors (stage, last_item_id) VALUES (:s, :p)"),
                         {"s": stage, "p": position})
    store.transaction(lambda c: add_user(c, "bench", "压测值班员", "duty_officer",
                                         hash_password(PASSWORD), NOW))
    store.close()


async def client_loop(base: str, live: list[int], until: float,
                      timings: dict[str, list[float]]) -> None:
    # cookies of an IP-address host are kept only by an "unsafe" jar
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        page = await (await session.get(f"{base}/login")).text()
        csrf = re.search(r"name=csrf value='([^']+)'", page)
        assert csrf is not None
        await session.post(f"{base}/login", data={"csrf": csrf.group(1), "name": "bench",
                                                 "password": PASSWORD})
        rng = random.Random()  # noqa: S311
        while time.perf_counter() < until:
            for name, path, marker in (("board", "/board", "下一时限"),
                                       ("incident", f"/incidents/{rng.choice(live)}", "时间线")):
                started = time.perf_counter()
                async with session.get(f"{base}{path}", allow_redirects=False) as reply:
                    body = await reply.text()
                timings[name].append(time.perf_counter() - started)
                # a redirect to the sign-in page would measure the wrong page
                assert reply.status == 200, (path, reply.status)
                assert marker in body, path


async def run(args: argparse.Namespace, scratch: Path) -> None:
    url = f"sqlite:///{scratch / 'web.db'}"
    began = time.perf_counter()
    fill(url, args.items, args.incidents, args.live)
    print(f"store filled in {time.perf_counter() - began:.0f} s: {args.items:,} items, "
          f"{args.incidents:,} incidents ({args.live} live)")
    app = build_app(load_settings(database=url), clock=SimClock(NOW), poll=False,
                    send_alerts=False)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}"
    live = list(range(args.incidents - args.live + 1, args.incidents + 1))
    timings: dict[str, list[float]] = {"board": [], "incident": []}
    until = time.perf_counter() + args.seconds
    await asyncio.gather(*(client_loop(base, live, until, timings)
                           for _ in range(args.clients)))
    await runner.cleanup()
    for name, values in timings.items():
        values.sort()
        print(f"{name:<9} {len(values):>6,} requests  p50 {statistics.median(values) * 1000:6.1f} ms"
              f"  p95 {values[int(len(values) * 0.95)] * 1000:6.1f} ms  "
              f"max {values[-1] * 1000:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--live", type=int, default=300)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="web-bench-") as scratch:
        asyncio.run(run(args, Path(scratch)))


if __name__ == "__main__":
    main()
