"""Collector benchmark: 1,000 feeds of 50 entries on loopback, one full poll.

Prints wall time, new entries per second end to end (fetch, decode, parse, dedup, store), peak
memory of the collecting process, and, on the same bytes, plain feedparser's parse rate and
the share of feeds that the fast reader (monitor/collect/fastfeed.py) read instead of
feedparser. The feed server runs in a child process so that it does not share the
collector's CPU time. The parser workers are started before the clock, as the service starts
its pool once and keeps it.

    python bench/collect_bench.py [--feeds 1000] [--entries 50]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import resource
import socket
import sys
import tempfile
import time
from concurrent.futures import Executor
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import psutil
from aiohttp import web

from monitor.clock import WallClock
from monitor.collect.decode import decode_feed
from monitor.collect.fetch import Fetcher
from monitor.collect.poller import Poller, parser_pool
from monitor.config import FetchSettings
from monitor.records import Media, Source
from monitor.store import Store

TOPICS = ["医院", "急诊", "疫苗", "食品安全", "养老院", "医保报销", "救护车", "卫生院", "传染病",
          "药品", "体检", "门诊", "住院", "护理", "疾控"]
PLACES = ["临翔区", "凤庆县", "云县", "永德县", "镇康县", "双江县", "耿马县", "沧源县"]


def feed_bytes(n: int, entries: int) -> tuple[bytes, str]:
    """Feed number ``n``: every fifth one in GBK labelled gb2312, as many Chinese sites are."""
    gbk = n % 5 == 0
    items = []
    for i in range(entries):
        topic, place = TOPICS[(n + i) % len(TOPICS)], PLACES[(n * 7 + i) % len(PLACES)]
        items.append(
            f"<item><title>{place}{topic}相关情况通报第{n}-{i}期</title>"
            f"<link>https://site{n % 97}.example.cn/news/{n}/{i}.html</link>"
            f"<guid>feed{n}-entry{i}</guid>"
            f"<pubDate>Mon, 02 Mar 2026 {i % 24:02d}:{n % 60:02d}:00 +0800</pubDate>"
            f"<description>&lt;p&gt;{place}卫生健康部门就{topic}有关问题作出说明，"
            f"群众反映的情况正在核实处理中。{'详情见附件。' * 8}&lt;/p&gt;</description></item>")
    declared = "gb2312" if gbk else "utf-8"
    text = (f'<?xml version="1.0" encoding="{declared}"?><rss version="2.0"><channel>'
            f"<title>测试源{n}</title><link>https://site{n}.example.cn/</link>"
            f"<description>bench</description>{''.join(items)}</channel></rss>")
    return text.encode("gbk" if gbk else "utf-8"), "text/xml"


def serve(port: int, feeds: int, entries: int, ready: multiprocessing.synchronize.Event) -> None:
    bodies = [feed_bytes(n, entries) for n in range(feeds)]

    async def handler(request: web.Request) -> web.Response:
        body, ctype = bodies[int(request.match_info["n"])]
        return web.Response(body=body, content_type=ctype)

    app = web.Application()
    app.router.add_get("/feed/{n}.xml", handler)
    ready.set()
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def sample_rss(peak: list[int], exclude: int) -> None:
    """Largest combined RSS of this process and its parser workers (not the feed server)."""
    me = psutil.Process()
    procs: list[psutil.Process] = []
    listed = 0.0
    while True:
        # Listing the children scans all of /proc, which at every sample cost the collector
        # a tenth of its CPU time; the workers are started before the clock, so once a
        # second is plenty.
        if time.monotonic() - listed > 1:
            procs = [me, *(c for c in me.children(recursive=True) if c.pid != exclude)]
            listed = time.monotonic()
        total = 0
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
        peak[0] = max(peak[0], total)
        await asyncio.sleep(0.05)


async def poll_all(port: int, feeds: int, db: str, server_pid: int) -> tuple[float, int, int]:
    sources = [Source(name=f"feed-{n}", url=f"http://127.0.0.1:{port}/feed/{n}.xml", kind="rss",
                      media=Media.LOCAL, region="临沧", interval_s=900) for n in range(feeds)]
    store = Store(db)
    # All feeds sit on one loopback host here: lift the per-host politeness limits.
    fetcher = Fetcher(FetchSettings(concurrency=32, per_host=32, host_gap=0,
                                    allow_private=["127.0.0.1"]))
    pool = parser_pool()
    warm_up(pool)
    peak = [0]
    sampler = asyncio.create_task(sample_rss(peak, server_pid))
    try:
        start = time.perf_counter()
        reports = await Poller(store, fetcher, WallClock(), parse_executor=pool).poll_once(sources)
        wall = time.perf_counter() - start
    finally:
        await fetcher.close()
        store.close()
        pool.shutdown()
        sampler.cancel()
    failed = [r for r in reports if r.error]
    if failed:
        sys.exit(f"{len(failed)} feeds failed, first: {failed[0].source}: {failed[0].error}")
    return wall, sum(r.new for r in reports), peak[0]


def warm_up(pool: Executor) -> None:
    """Start every parser worker: a spawned interpreter importing this script and the
    collector takes about a second, which the service pays once, not on each poll."""
    body, ctype = feed_bytes(0, 1)
    source = Source(name="warm-up", url="http://127.0.0.1/", kind="rss", media=Media.LOCAL,
                    region="临沧", interval_s=900)
    now = datetime.now(UTC)
    jobs = [pool.submit(decode_feed, body, ctype, source, source.url, now)
            for _ in range(os.cpu_count() or 2)]
    for job in jobs:
        job.result()


def fast_path_share(feeds: int, entries: int) -> tuple[int, int]:
    """How many of the feeds the fast reader read, decoded here on the same bytes."""
    source = Source(name="share", url="http://127.0.0.1/", kind="rss", media=Media.LOCAL,
                    region="临沧", interval_s=900)
    now = datetime.now(UTC)
    fast = 0
    for n in range(feeds):
        body, ctype = feed_bytes(n, entries)
        fast += decode_feed(body, ctype, source, source.url, now).reader == "fastfeed"
    return fast, feeds


def plain_feedparser_rate(feeds: int, entries: int) -> tuple[float, float]:
    bodies = [feed_bytes(n, entries)[0] for n in range(feeds)]
    start = time.perf_counter()
    parsed = sum(len(feedparser.parse(body).entries) for body in bodies)
    seconds = time.perf_counter() - start
    return parsed / seconds, sum(map(len, bodies)) / seconds / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=50)
    args = parser.parse_args()
    port = free_port()
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(port, args.feeds, args.entries, ready),
                                     daemon=True)
    server.start()
    ready.wait(60)
    time.sleep(0.5)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = f"sqlite:///{Path(tmp) / 'bench.db'}"
            assert server.pid is not None
            wall, new, peak = asyncio.run(poll_all(port, args.feeds, db, server.pid))
            size_mb = (Path(tmp) / "bench.db").stat().st_size / 1e6
    finally:
        server.terminate()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    fp_rate, fp_mb_s = plain_feedparser_rate(args.feeds, args.entries)
    fast, total = fast_path_share(args.feeds, args.entries)
    rate = new / wall
    print(f"feeds                     {args.feeds} x {args.entries} entries (1 in 5 GBK)")
    print(f"full poll wall time       {wall:.1f} s")
    print(f"new entries stored        {new}")
    print(f"end-to-end rate           {rate:,.0f} entries/s")
    print(f"peak RSS                  {peak_mb:.0f} MB collector; {peak / 2**20:.0f} MB with "
          "its parser workers")
    print(f"database size             {size_mb:.1f} MB")
    print(f"plain feedparser parse    {fp_rate:,.0f} entries/s ({fp_mb_s:.1f} MB/s)")
    print(f"end-to-end / feedparser   {rate / fp_rate:.2f}")
    print(f"read by the fast reader   {fast} of {total} feeds ({fast / total:.0%}); "
          "feedparser read the others")


if __name__ == "__main__":
    main()
