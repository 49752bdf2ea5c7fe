"""事件分析 benchmark: a scratch SQLite store of 100,000 items (with signals), one large
incident of several thousand of them (stories and reposts over three days, 60 sources, its
timeline with an item_added event per item, milestones and deadlines) among 400 small
incidents and unfiled background; the service on loopback; then one signed-in client asks, one
request after another, for the incident page, its analysis JSON and its Excel export.
Prints the first (cold) time and the median and p95 of the rest, with the figures computed
afresh for every request (target: page and JSON under 300 ms on the 2-core development
machine), and the JSON asked right after its page, as the page's script does, figures kept.

    python bench/incident_page_bench.py [--items 100000] [--big 6000] [--requests 20]
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
from monitor.config import PROJECT_DIR, SourceList, load_settings
from monitor.records import Media, Source, SourceKind
from monitor.store import Store
from monitor.store.users import add_user
from monitor.web.analysis import IncidentAnalysis
from monitor.web.auth import hash_password

NOW = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
# every item older than the incident stage's 48 h window, so that the pipeline, which runs in
# the benchmarked process as in the service, has nothing to rebuild at start
START = NOW - timedelta(days=8)
PASSWORD = "bench-password-1"  # noqa: S105  (a throw-away user of the bench)
BIG = 1  # the large incident's id
SMALL = 400
REGIONS = ["临翔区", "凤庆县", "云县", "永德县", "镇康县", "双江拉祜族佤族布朗族傣族自治县",
           "耿马傣族佤族自治县", "沧源佤族自治县"]
MEDIA = [Media.CENTRAL, Media.PROVINCIAL, Media.LOCAL, Media.GOVERNMENT, Media.SOCIAL,
         Media.SOCIAL, Media.SOCIAL, Media.FORUM, Media.HOTLINE, Media.UNKNOWN]


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S.%f")


def sources() -> SourceList:
    return SourceList([Source(name=f"source-{n:02d}", url=f"https://s{n}.example.cn/feed",
                              kind=SourceKind.RSS, media=MEDIA[n % len(MEDIA)], region="临沧",
                              interval_s=600, weight=float(1 + n % 6)) for n in range(60)])


def texts() -> list[str]:
    found = []
    for path in sorted((PROJECT_DIR / "models" / "corpus").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            found.append(json.loads(line)["text"].replace("\n", " "))
    return found


def fill(url: str, count: int, big: int) -> None:
    """Rows written straight through the driver: this is the store's size, not its speed."""
    rng = random.Random(26)  # noqa: S311  (a reproducible store, not a secret)
    pool = texts()
    store = Store(url)
    names = [s.name for s in sources().sources]
    items, signals, stories, filed, timeline = [], [], [], [], []
    # the large incident: stories over three days, busiest on the first, 45 % reposts
    originals: list[tuple[int, str]] = []
    for n in range(1, big + 1):
        at = START + timedelta(hours=72 * rng.random() ** 2.2)
        copy = originals and rng.random() < 0.45
        if copy:
            first, title = rng.choice(originals[-200:])
            title = rng.choice(["转发：", "【转】", ""]) + title + rng.choice(["", "｜澎湃新闻"])
        else:
            body = rng.choice(pool)
            first, title = n, body[:36]
            originals.append((n, title))
        places = rng.sample(REGIONS[:3], k=rng.randint(0, 2)) + (["临沧市"] if n % 5 else [])
        items.append((n, names[rng.randrange(60)], f"u:{n}", f"https://b.example/{n}",
                      title, rng.choice(pool)[:150], stamp(at), stamp(at + timedelta(minutes=3)),
                      first if copy else None))
        signals.append((n, rng.random() ** 0.6, json.dumps(places, ensure_ascii=False)))
        stories.append((n, first))
        filed.append((n, BIG, stamp(at)))
        timeline.append((BIG, stamp(at), "item_added", "system", json.dumps({"item": n})))
    # the small incidents, 20 items each, then the background nobody filed
    for n in range(big + 1, count + 1):
        at = NOW - timedelta(days=3 + 30 * rng.random())
        body = rng.choice(pool)
        items.append((n, names[rng.randrange(60)], f"u:{n}", f"https://b.example/{n}",
                      body[:36], body[:150], stamp(at), stamp(at), None))
        signals.append((n, rng.random(), "[]"))
        if n <= big + SMALL * 20:
            incident = 2 + (n - big - 1) // 20
            stories.append((n, n))
            filed.append((n, incident, stamp(at)))
    opened = START + timedelta(minutes=20)
    events = [("opened", opened, {"title": "大事件", "items": 5}),
              ("level_proposed", opened, {"level": "II"}),
              ("confirmed", opened + timedelta(minutes=30), {"level": "II"}),
              ("acknowledged", opened + timedelta(minutes=12), {}),
              ("milestone_recorded", opened + timedelta(hours=4),
               {"kind": "authoritative_release", "url": "https://wjw.example.gov.cn/1"}),
              ("milestone_recorded", opened + timedelta(hours=22),
               {"kind": "press_conference", "url": "https://wjw.example.gov.cn/2"}),
              ("milestone_recorded", opened + timedelta(hours=46),
               {"kind": "follow_up", "url": "https://wjw.example.gov.cn/3"})]
    timeline += [(BIG, stamp(at), kind, "值班员甲", json.dumps(data, ensure_ascii=False))
                 for kind, at, data in events]
    deadlines = [("release_target", "首次权威发布（3小时目标）", 3, "missed", None),
                 ("release", "首次权威发布（5小时时限）", 5, "met", 4),
                 ("press_conference", "新闻发布会（24小时内）", 24, "met", 22),
                 ("follow_up_1", "后续发布", 46, "met", 46),
                 ("follow_up_2", "后续发布", 70, "pending", None)]
    with store.engine.begin() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        raw.executemany(
            "INSERT INTO items (id, source, ident, url, url_norm, title, title_norm, summary,"
            " published_at, fetched_at, content_hash, repost_of)"
            " VALUES (?, ?, ?, ?, ?, ?, '', ?, ?, ?, '', ?)",
            ((n, s, i, u, u, t, body, p, f, r) for n, s, i, u, t, body, p, f, r in items))
        raw.executemany(
            "INSERT INTO signals (item_id, health, health_score, topics, negative, plans,"
            " places, model, analysed_at) VALUES (?, 1, 0.9, '[]', ?, '[]', ?, 'b', ?)",
            ((n, neg, places, stamp(NOW)) for n, neg, places in signals))
        raw.executemany("INSERT INTO item_stories (item_id, story_id) VALUES (?, ?)", stories)
        raw.executemany(
            "INSERT INTO incidents (id, status, title, opened_at, updated_at, first_item_id,"
            " first_source, topics, keywords, places, region, items, stories, sources,"
            " negative_share, heat, proposed_level, level) VALUES (?, ?, ?, ?, ?, ?, ?,"
            " '[\"medical_dispute\"]', '[]', '[]', ?, ?, ?, 60, 0.6, ?, 'II', ?)",
            [(BIG, "responding", "某医院患者死亡引发关注", stamp(opened), stamp(NOW),
              min((f for f in filed if f[1] == BIG), key=lambda f: (f[2], f[0]))[0], "source-00", "凤庆县", big, len(originals),
              900.0, "II")]
            + [(i, "closed", f"事件{i}", stamp(START), stamp(START), big + (i - 2) * 20 + 1,
                "source-01", None, 20, 20, 5.0, None) for i in range(2, SMALL + 2)])
        raw.executemany("INSERT INTO incident_items (item_id, incident_id, added_at)"
                        " VALUES (?, ?, ?)", filed)
        raw.executemany("INSERT INTO timeline (incident_id, at, type, actor, data)"
                        " VALUES (?, ?, ?, ?, ?)", sorted(timeline, key=lambda e: e[1]))
        raw.executemany(
            "INSERT INTO deadlines (incident_id, key, label, met_by, hard, due_at, status,"
            " met_at) VALUES (?, ?, ?, '[]', 0, ?, ?, ?)",
            [(BIG, key, label, stamp(opened + timedelta(hours=due)), status,
              stamp(opened + timedelta(hours=met)) if met is not None else None)
             for key, label, due, status, met in deadlines])
        for stage, position in (("incidents", count), ("response", len(timeline))):
            conn.execute(text("INSERT INTO stage_cursors (stage, last_item_id) VALUES (:s, :p)"),
                         {"s": stage, "p": position})
    store.transaction(lambda c: add_user(c, "bench", "压测值班员", "duty_officer",
                                         hash_password(PASSWORD), NOW))
    store.close()


async def measure(base: str, requests: int, analysis: IncidentAnalysis
                  ) -> dict[str, list[float]]:
    """Each URL with the figures computed afresh every time (the analysis keeps them while
    the incident is unchanged: turned off here), then the JSON as a browser asks for it,
    right after its page, figures kept."""
    timings: dict[str, list[float]] = {}
    paths = {"page": (f"/incidents/{BIG}", "事件分析"),
             "analysis": (f"/api/incidents/{BIG}/analysis", '"hourly"'),
             "xlsx": (f"/incidents/{BIG}/items.xlsx", ""),
             "kept": (f"/api/incidents/{BIG}/analysis", '"hourly"')}
    # cookies of an IP-address host are kept only by an "unsafe" jar
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        page = await (await session.get(f"{base}/login")).text()
        csrf = re.search(r"name=csrf value='([^']+)'", page)
        assert csrf is not None
        await session.post(f"{base}/login", data={"csrf": csrf.group(1), "name": "bench",
                                                 "password": PASSWORD})
        for name, (path, marker) in paths.items():
            analysis.cache_size = 64 if name == "kept" else 0
            for _ in range(requests + 1):  # the first one cold
                if name == "kept":  # its page first, as the browser does
                    await (await session.get(f"{base}/incidents/{BIG}")).read()
                started = time.perf_counter()
                async with session.get(f"{base}{path}", allow_redirects=False) as reply:
                    body = await reply.read()
                timings.setdefault(name, []).append(time.perf_counter() - started)
                # a redirect to the sign-in page would measure the wrong page
                assert reply.status == 200, (path, reply.status)
                assert marker.encode() in body, path
    return timings


async def run(args: argparse.Namespace, scratch: Path) -> None:
    url = f"sqlite:///{scratch / 'incident.db'}"
    began = time.perf_counter()
    fill(url, args.items, args.big)
    print(f"store filled in {time.perf_counter() - began:.0f} s: {args.items:,} items, one "
          f"incident of {args.big:,} and {SMALL} of 20")
    app = build_app(load_settings(database=url), clock=SimClock(NOW), poll=False,
                    send_alerts=False, sources=sources())
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    analysis = next(r.handler.__self__ for r in app.router.routes()  # type: ignore[attr-defined]
                    if isinstance(getattr(r.handler, "__self__", None), IncidentAnalysis))
    try:
        timings = await measure(f"http://127.0.0.1:{port}", args.requests, analysis)
    finally:
        await runner.cleanup()
    for name, values in timings.items():
        cold, warm = values[0], sorted(values[1:])
        p95 = warm[min(len(warm) - 1, round(len(warm) * 0.95) - 1)]
        print(f"{name:<9} first {cold * 1000:7.1f} ms   then {len(warm)} requests: "
              f"median {statistics.median(warm) * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms  "
              f"max {warm[-1] * 1000:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=6_000)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="incident-bench-") as scratch:
        asyncio.run(run(args, Path(scratch)))


if __name__ == "__main__":
    main()
