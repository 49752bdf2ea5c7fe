"""One round of many sources on one host, through `monitor fetch --once` as an operator runs
it: a host that answers each request after a delay, its sources written with name and url
only. Prints for each shape the round's length, items stored and sources that failed.

    python bench/host_round_bench.py [--delay 0.3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aiohttp import web


def rss(route: str, count: int) -> bytes:
    entries = "".join(f"<item><title>{route}第{n}条卫生健康消息</title>"
                      f"<link>https://m.example.cn{route}/{n}</link><guid>{route}-{n}</guid></item>"
                      for n in range(count))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{route}'
            f"</title>{entries}</channel></rss>").encode()


async def serve(delay: float) -> tuple[web.AppRunner, int]:
    async def feed(request: web.Request) -> web.Response:
        await asyncio.sleep(delay)
        return web.Response(body=rss(request.path, 3), content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/{tail:.*}", feed)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, port


def fetch_round(work: Path, sources_yaml: str, settings_yaml: str) -> tuple[float, int, int]:
    (work / "sources.yaml").write_text(sources_yaml, encoding="utf-8")
    (work / "monitor.yaml").write_text(settings_yaml, encoding="utf-8")
    db = work / "m.db"
    db.unlink(missing_ok=True)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "monitor", "fetch", "--once", "--json",  # noqa: S603
                           "--config", str(work / "monitor.yaml"), "--db", f"sqlite:///{db}"],
                          capture_output=True, text=True, env=os.environ, check=False)
    took = time.monotonic() - started
    reports = json.loads(done.stdout or "[]")
    return took, sum(r["new"] for r in reports), sum(bool(r["error"]) for r in reports)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay", type=float, default=0.3, help="seconds per answer")
    args = parser.parse_args()
    runner, port = await serve(args.delay)
    shapes = [
        ("30 RSSHub routes (defaults: 8 at once, no gap)", 30, True),
        ("300 RSSHub routes (defaults)", 300, True),
        ("12 sources on a plain host (defaults: 2 at once, 5 s gap)", 12, False),
    ]
    print(f"each answer takes {args.delay} s; fetch.timeout is the shipped 30 s")
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        for label, count, rsshub in shapes:
            if rsshub:
                listed = "".join(f"  - {{name: r{n}, url: /weibo/keyword/医院{n}}}\n"
                                 for n in range(count))
                text = f"rsshub: http://127.0.0.1:{port}\nsources:\n{listed}"
                settings = "sources: sources.yaml\n"
            else:
                listed = "".join(f"  - {{name: s{n}, url: 'http://localhost:{port}/s{n}.xml'}}\n"
                                 for n in range(count))
                text = f"sources:\n{listed}"
                settings = "sources: sources.yaml\nfetch: {allow_private: [localhost]}\n"
            took, items, failed = await asyncio.to_thread(fetch_round, work, text, settings)
            print(f"{label}: {took:.1f} s, {items} of {count * 3} items, {failed} failed")
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
