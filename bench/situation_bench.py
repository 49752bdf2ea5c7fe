"""舆情态势 benchmark: a scratch SQLite store of 100,000 analysed items over 30 days (the demo
scenario's titles with the real analyser's signals, spread over 33 sources of every media type,
day and night, reposts among them), 60 incidents with deadlines and the sources' health; then
/api/situation and /situation for today, 7 days and 30 days through the real app on loopback,
signed in. Before every request one more analysed item is stored, as in a live service, so no
answer is served from the short result cache; the hot words of past days are cached per day
(they never change), so the first request of each period, which segments them, is reported
apart. Prints the median and p95 (target < 300 ms).

    python bench/situation_bench.py [--items 100000] [--days 30] [--requests 20]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import re
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web
from sqlalchemy import insert

from monitor.analyze.analyzer import load_analyzer
from monitor.app import build_app
from monitor.clock import SHANGHAI, SimClock
from monitor.collect.normalize import normalize_title, normalize_url
from monitor.config import SourceList, load_settings
from monitor.records import FetchStatus, Item, Media, Signal, Source, SourceHealth, SourceKind
from monitor.store import Store
from monitor.store.incidents import set_cursor
from monitor.store.items import insert_items
from monitor.store.schema import deadlines, incidents
from monitor.store.signals import put_signal_values, signal_values
from monitor.store.sources import put_health
from monitor.store.users import add_user
from monitor.web.auth import hash_password

NOW = datetime(2026, 3, 31, 15, 30, tzinfo=SHANGHAI)
PASSWORD = "bench-password-1"  # noqa: S105  (a throw-away user of the bench)
DEMO = Path(__file__).parents[1] / "monitor" / "demo" / "scenario.jsonl"
# name prefix, media, how many such sources, their share of the items
MIX = (("cctv", Media.CENTRAL, 3, 0.06), ("yunnan-daily", Media.PROVINCIAL, 3, 0.08),
       ("lincang-news", Media.LOCAL, 5, 0.16), ("county-gov", Media.GOVERNMENT, 8, 0.05),
       ("weibo", Media.SOCIAL, 6, 0.38), ("forum", Media.FORUM, 5, 0.2),
       ("hotline", Media.HOTLINE, 1, 0.03), ("unlisted", Media.UNKNOWN, 1, 0.02),
       ("intake", Media.UNKNOWN, 1, 0.02))
# the hours of a Beijing day, weighted: little at night, most in the working day and evening
HOURLY = [2, 1, 1, 1, 1, 2, 4, 7, 10, 12, 12, 11, 9, 10, 11, 11, 10, 9, 9, 10, 10, 8, 6, 4]
BATCH = 1000


def sources() -> tuple[list[Source], list[float]]:
    made: list[Source] = []
    weights: list[float] = []
    for prefix, media, count, share in MIX:
        for n in range(count):
            name = prefix if count == 1 else f"{prefix}-{n + 1}"
            made.append(Source(name=name, url=f"https://{name}.example.cn/feed",
                               kind=SourceKind.RSS, media=media, region="临沧市",
                               interval_s=900))
            weights.append(share / count)
    # 'unlisted' and 'intake' stand for items whose source is not in sources.yaml
    listed = [s for s in made if s.name not in ("unlisted", "intake")]
    return listed, weights


def analysed_pool() -> tuple[list[tuple[str, str, Signal]], list[str]]:
    """The demo scenario's texts with the signals the real analyser gives them (42 % of them
    health-related), and the profile's towns."""
    settings = load_settings()
    analyzer = load_analyzer(settings.profile_path, settings.plans_path, settings.models_dir)
    texts = [(d["title"], d.get("text", "")) for line in DEMO.read_text("utf-8").splitlines()
             if (d := json.loads(line))["type"] == "item"]
    found = analyzer.analyze(texts)
    towns = [p.name for p in analyzer.profile.places if p.kind == "town"]
    return [(t, b, s) for (t, b), s in zip(texts, found, strict=True)], towns


def fill(url: str, count: int, days: int, listed: list[Source], weights: list[float]) -> None:
    """Items and signals through the store's own batch functions, in time order."""
    pool, towns = analysed_pool()
    rng = random.Random(3)  # noqa: S311
    names = [s.name for s in listed] + ["unlisted", "intake"]
    start = NOW - timedelta(days=days)
    hours = days * 24
    weights_h = [HOURLY[(start + timedelta(hours=h)).astimezone(SHANGHAI).hour]
                 for h in range(hours)]
    times = sorted(start + timedelta(hours=h, seconds=rng.random() * 3600)
                   for h in rng.choices(range(hours), weights_h, k=count))
    times = [min(t, NOW - timedelta(seconds=1)) for t in times]
    store = Store(url, durable=False)
    try:
        for first in range(0, count, BATCH):
            batch: list[Item] = []
            signals: list[Signal] = []
            for n in range(first, min(first + BATCH, count)):
                title, body, signal = rng.choice(pool)
                if signal.health and rng.random() < 0.5:  # the same story in another town
                    town = rng.choice(towns)
                    title, signal = f"{town}{title}", replace(signal,
                                                              places=(town, *signal.places))
                if rng.random() < 0.7:  # most items are stories of their own
                    title = f"{title}（{n % 997}）"
                source = rng.choices(names, weights)[0]
                link = f"https://{source}.example.cn/a/{n}"
                batch.append(Item(source=source, ident=f"u:{link}", guid=None, url=link,
                                  url_norm=normalize_url(link), title=title,
                                  title_norm=normalize_title(title), summary=body,
                                  published_at=times[n], fetched_at=times[n],
                                  content_hash=content_hash(title, link, body)))
                signals.append(signal)

            def write(conn: object, batch: list[Item] = batch,
                      signals: list[Signal] = signals) -> None:
                stored = insert_items(conn, batch, batch[-1].fetched_at)  # type: ignore[arg-type]
                put_signal_values(conn, [(item_id, signal_values(signals[at]))  # type: ignore[arg-type]
                                         for item_id, at in zip(stored.ids, stored.stored,
                                                                strict=True)],
                                  batch[-1].fetched_at)

            store.transaction(write)
        store.transaction(lambda c: _incidents(c, count, days, rng))
        # the incident stage has seen these items: the service starts with nothing to catch up
        store.transaction(lambda c: set_cursor(c, "incidents", count))
        store.transaction(lambda c: _health(c, listed))
        store.transaction(lambda c: add_user(c, "bench", "压测领导", "leader",
                                             hash_password(PASSWORD), NOW))
    finally:
        store.close()


def _incidents(conn: object, count: int, days: int, rng: random.Random) -> None:
    topics = ["access_to_care", "medical_dispute", "epidemic", "vaccine_drug", "food_safety"]
    rows, due = [], []
    for i in range(1, 61):
        opened = NOW - timedelta(days=rng.random() * days)
        live = i > 40
        rows.append({"id": i, "status": "open" if live else rng.choice(["closed", "dismissed"]),
                     "title": f"压测事件{i}：某县医院就医纠纷引发关注", "opened_at": opened,
                     "updated_at": min(NOW, opened + timedelta(hours=rng.random() * 48)),
                     "first_item_id": rng.randrange(1, count), "first_source": "weibo-1",
                     "topics": json.dumps([rng.choice(topics)]), "keywords": "[]",
                     "places": json.dumps(["凤庆县"], ensure_ascii=False), "region": "凤庆县",
                     "items": rng.randrange(3, 300), "stories": 3, "sources": 4,
                     "negative_share": rng.random(), "heat": rng.random() * 80,
                     "proposed_level": rng.choice(["II", "III", "IV"]), "level": None})
        missed = not live and rng.random() < 0.3
        due.append({"incident_id": i, "key": "response", "label": "回应（48小时内）",
                    "met_by": "[]", "hard": False, "due_at": opened + timedelta(hours=48),
                    "status": "pending" if live else "missed" if missed else "met",
                    "met_at": None, "missed_at": opened + timedelta(hours=48) if missed else None})
    conn.execute(insert(incidents), rows)  # type: ignore[attr-defined]
    conn.execute(insert(deadlines), due)  # type: ignore[attr-defined]


def _health(conn: object, listed: list[Source]) -> None:
    for n, source in enumerate(listed):
        failing = n in (3, 17)  # two sources that went silent
        last = NOW - timedelta(hours=30 if failing else 0.1)
        put_health(conn, SourceHealth(  # type: ignore[arg-type]
            source=source.name, url=source.url,
            status=FetchStatus.ERROR if failing else FetchStatus.OK,
            last_attempt_at=NOW - timedelta(minutes=5), last_success_at=last,
            last_error="HTTP 503" if failing else None, consecutive_failures=12 if failing else 0,
            entries_per_day=120.0))


def content_hash(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


async def timed(session: aiohttp.ClientSession, base: str, path: str, marker: str) -> float:
    started = time.perf_counter()
    async with session.get(f"{base}{path}", allow_redirects=False) as reply:
        body = await reply.text()
    took = time.perf_counter() - started
    assert reply.status == 200, (path, reply.status, body[:200])
    assert marker in body, path
    return took


async def run(args: argparse.Namespace, scratch: Path) -> None:
    url = f"sqlite:///{scratch / 'situation.db'}"
    listed, weights = sources()
    began = time.perf_counter()
    fill(url, args.items, args.days, listed, weights)
    print(f"store filled in {time.perf_counter() - began:.0f} s: {args.items:,} items over "
          f"{args.days} days, {len(listed)} listed sources, 60 incidents")
    clock = SimClock(NOW)
    app = build_app(load_settings(database=url), clock=clock, poll=False, send_alerts=False,
                    sources=SourceList(listed))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}"
    store = Store(url)
    extra = iter(range(10_000_000, 20_000_000))
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            page = await (await session.get(f"{base}/login")).text()
            csrf = re.search(r"name=csrf value='([^']+)'", page)
            assert csrf is not None
            await session.post(f"{base}/login", data={"csrf": csrf.group(1), "name": "bench",
                                                     "password": PASSWORD})
            # 30 days first: its first request reads and segments the whole month (cold);
            # after it every past day is kept, and only today is read again
            for period in ("30d", "7d", "today"):
                for path, marker in ((f"/api/situation?period={period}", '"kpis"'),
                                     (f"/situation?period={period}", "舆情态势")):
                    values = []
                    for _ in range(args.requests + 1):
                        clock.advance(1)
                        store.transaction(lambda c: _one_more(c, next(extra), clock.now()))
                        values.append(await timed(session, base, path, marker))
                    first, rest = values[0], sorted(values[1:])
                    print(f"{path:<30} first {first * 1000:6.1f} ms  "
                          f"median {statistics.median(rest) * 1000:6.1f} ms  "
                          f"p95 {rest[int(len(rest) * 0.95) - 1] * 1000:6.1f} ms  "
                          f"max {rest[-1] * 1000:6.1f} ms")
            started = time.perf_counter()
            async with session.get(f"{base}/situation.xlsx?period=30d") as reply:
                body = await reply.read()
            assert reply.status == 200, reply.status
            print(f"{'/situation.xlsx?period=30d':<30} {(time.perf_counter() - started):6.1f} s  "
                  f"{len(body) / 1e6:.1f} MB")
    finally:
        store.close()
        await runner.cleanup()


def _one_more(conn: object, n: int, now: datetime) -> None:
    """One new analysed item, as the pipeline stores them: the cached answer is stale."""
    link = f"https://weibo-1.example.cn/live/{n}"
    item = Item(source="weibo-1", ident=f"u:{link}", guid=None, url=link,
                url_norm=normalize_url(link), title=f"临翔区医院门诊排长队 市民反映挂号难（{n}）",
                title_norm="", summary="", published_at=now, fetched_at=now,
                content_hash=content_hash(str(n), link, ""))
    stored = insert_items(conn, [item], now)  # type: ignore[arg-type]
    signal = Signal(health=True, health_score=0.9, topics=(), negative=0.7, plans=(),
                    places=("临翔区",), model="bench")
    put_signal_values(conn, [(stored.ids[0], signal_values(signal))], now)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="situation-bench-") as scratch:
        asyncio.run(run(args, Path(scratch)))


if __name__ == "__main__":
    main()
