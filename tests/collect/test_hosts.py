"""Many sources on one host, as a deployment looks when most of them are routes of one
self-hosted RSSHub: waiting for the host is scheduling and never counts against the request
timeout, a throttling host slows only itself, and a first sources.yaml of names and URLs
works. Against real local servers, through the command line where a person would use it."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from monitor.clock import SimClock
from monitor.collect.fetch import Fetcher
from monitor.collect.poller import Poller
from monitor.config import FetchSettings, HostPolicy
from monitor.records import FetchStatus
from monitor.store import Store
from monitor.store.items import list_items
from tests.conftest import FEEDS, make_source
from tests.test_cli import monitor

Serve = Callable[..., Awaitable[TestServer]]


def rss(route: str, count: int) -> bytes:
    entries = "".join(f"<item><title>{route}第{n}条卫生健康消息</title>"
                      f"<link>https://m.example.cn{route}/{n}</link>"
                      f"<guid>{route}-{n}</guid></item>" for n in range(count))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{route}</title>{entries}</channel></rss>").encode()


async def slow_feeds(aiohttp_server: Serve, delay: float) -> tuple[TestServer, list[float]]:
    """Any route is a feed of three entries, answered after ``delay`` seconds; the start of
    every request is kept."""
    starts: list[float] = []

    async def feed(request: web.Request) -> web.Response:
        starts.append(time.monotonic())
        await asyncio.sleep(delay)
        return web.Response(body=rss(request.path, 3), content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/{tail:.*}", feed)
    return await aiohttp_server(app, host="127.0.0.1"), starts


async def test_thirty_routes_on_one_rsshub_wait_their_turn_and_none_times_out(
        tmp_path: Path, aiohttp_server: Serve) -> None:
    server, starts = await slow_feeds(aiohttp_server, delay=0.3)
    routes = "".join(f"  - name: route-{n}\n    url: /weibo/keyword/医院{n}\n"
                     for n in range(30))
    # one request at a time, each taking 0.3 s: the last waits 9 s for a request that may
    # take only 2 s
    (tmp_path / "sources.yaml").write_text(
        f"rsshub: http://127.0.0.1:{server.port}\nhosts:\n  127.0.0.1: {{concurrency: 1}}\n"
        f"sources:\n{routes}", encoding="utf-8")
    (tmp_path / "monitor.yaml").write_text(
        "sources: sources.yaml\nfetch: {timeout: 2}\n", encoding="utf-8")
    db = tmp_path / "m.db"
    code, out, err = await monitor("fetch", "--once", "--json", "--config",
                                   str(tmp_path / "monitor.yaml"), "--db", f"sqlite:///{db}")
    assert code == 0, err
    reports = json.loads(out)
    assert [r["error"] for r in reports if r["error"]] == []
    assert sum(r["new"] for r in reports) == 90
    assert len(starts) == 30
    assert starts[-1] - starts[0] >= 29 * 0.3  # one at a time, as the host asked
    store = Store(f"sqlite:///{db}")
    try:
        assert len(store.transaction(lambda c: list_items(c))) == 90
    finally:
        store.close()


async def test_a_busy_host_pauses_only_itself_and_its_queue_goes_on_after(
        aiohttp_server: Serve, store: Store, clock: SimClock) -> None:
    asked: list[str] = []

    async def feed(request: web.Request) -> web.Response:
        asked.append(request.path)
        if request.path == "/first" and asked.count("/first") == 1:
            return web.Response(status=429, text="slow down", headers={"Retry-After": "1"})
        return web.Response(body=rss(request.path, 2), content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/{tail:.*}", feed)
    busy = await aiohttp_server(app, host="127.0.0.1")
    calm, _ = await slow_feeds(aiohttp_server, delay=0)
    settings = FetchSettings(timeout=5, host_gap=0, per_host=1,
                             allow_private=["localhost", "127.0.0.1"])
    fetcher = Fetcher(settings, hosts={"localhost": HostPolicy(concurrency=1, gap=0)})
    try:
        sources = [make_source("first", f"http://localhost:{busy.port}/first"),
                   *(make_source(f"b{n}", f"http://localhost:{busy.port}/b{n}")
                     for n in range(4)),
                   make_source("elsewhere", f"http://127.0.0.1:{calm.port}/c")]
        started = time.monotonic()
        reports = {r.source: r for r in await Poller(store, fetcher, clock).poll_once(sources)}
        took = time.monotonic() - started
    finally:
        await fetcher.close()
    assert reports["first"].status is FetchStatus.BUSY
    # the rest of the busy host waited out its second and then were all read
    assert all(reports[f"b{n}"].new == 2 for n in range(4))
    assert took >= 1.0
    # the other host was not held back by it
    assert reports["elsewhere"].new == 3
    assert reports["elsewhere"].seconds < 1.0


def gzip_bomb() -> bytes:
    return gzip.compress(b"<rss>" + b"\0" * (64 * 1024 * 1024), compresslevel=9)


MINIMAL_CASES = {
    # name: (path, file or bytes, content type, extra headers, titles expected)
    "utf8": ("/utf8.xml", "utf8_rss2.xml", "application/rss+xml", {}),
    "gbk": ("/gbk.xml", "gbk_labelled_gb2312.xml", "text/xml", {}),
    "gb18030-atom": ("/gb18030.xml", "gb18030.xml", "application/atom+xml", {}),
    "atom": ("/atom.xml", "atom.xml", "application/atom+xml", {}),
    "jsonfeed": ("/feed.json", "feed.json", "application/feed+json", {}),
    "rss091": ("/rss091.xml", "rss091.xml", "text/xml", {}),
    "malformed": ("/malformed.xml", "malformed.xml", "text/xml", {}),
    "duplicates": ("/dup.xml", "duplicate_guids.xml", "application/rss+xml", {}),
    "prolog": ("/prolog.xml", "wrong_prolog_utf8.xml", "text/xml", {}),
}


@pytest.mark.timeout(120)
async def test_a_first_sources_file_of_names_and_urls_reads_every_kind(
        tmp_path: Path, aiohttp_server: Serve) -> None:
    bodies: dict[str, tuple[int, bytes, dict[str, str]]] = {}
    for path, name, ctype, headers in MINIMAL_CASES.values():
        bodies[path] = (200, (FEEDS / name).read_bytes(), {"Content-Type": ctype, **headers})
    bodies["/page.html"] = (200, (FEEDS / "html_page.html").read_bytes(),
                            {"Content-Type": "text/html"})
    bodies["/old.xml"] = (301, b"", {"Location": "/utf8.xml"})
    bodies["/gone.xml"] = (410, b"gone", {})
    bodies["/bomb.xml"] = (200, gzip_bomb(), {"Content-Type": "application/rss+xml",
                                              "Content-Encoding": "gzip"})

    async def serve(request: web.Request) -> web.Response:
        status, body, headers = bodies[request.path]
        return web.Response(status=status, body=body, headers=headers)

    app = web.Application()
    app.router.add_get("/{tail:.*}", serve)
    server = await aiohttp_server(app, host="127.0.0.1")
    base = f"http://localhost:{server.port}"
    names = {**{n: p for n, (p, *_rest) in MINIMAL_CASES.items()}, "page": "/page.html",
             "moved": "/old.xml", "gone": "/gone.xml", "bomb": "/bomb.xml"}
    (tmp_path / "sources.yaml").write_text("sources:\n" + "".join(
        f"  - name: {n}\n    url: {base}{p}\n" for n, p in names.items()), encoding="utf-8")
    # the shipped host gap, 5 s, is kept for real servers; a tenth of it here
    (tmp_path / "monitor.yaml").write_text(
        "sources: sources.yaml\nfetch: {timeout: 3, host_gap: 0.5, "
        "allow_private: [localhost], max_body: 4 MiB}\n", encoding="utf-8")
    db = tmp_path / "m.db"
    code, out, err = await monitor("fetch", "--once", "--json", "--config",
                                   str(tmp_path / "monitor.yaml"), "--db", f"sqlite:///{db}")
    assert code == 0, err
    reports = {r["source"]: r for r in json.loads(out)}
    assert not [r for r in reports.values() if "timed out" in (r["error"] or "")]
    for name in MINIMAL_CASES:
        assert reports[name]["new"] > 0, (name, reports[name])
    assert reports["moved"]["new"] == reports["utf8"]["new"]
    assert "moved permanently" in reports["moved"]["warning"]
    assert "HTML page" in reports["page"]["error"]
    assert reports["gone"]["status"] == "gone"
    assert "cap" in reports["bomb"]["error"]
    store = Store(f"sqlite:///{db}")
    try:
        titles = {(i.source, i.title) for i in store.transaction(lambda c: list_items(c))}
    finally:
        store.close()
    assert {s for s, _ in titles} == {*MINIMAL_CASES, "moved"}


async def test_the_sources_listing_shows_what_was_assumed_and_each_hosts_limits(
        tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(
        "rsshub: http://rsshub.local:1200\nsources:\n"
        "  - {name: city-news, url: 'https://news.example.cn/rss.xml'}\n"
        "  - {name: wjw, url: 'https://wjw.example.cn/rss.xml', media: government, "
        "region: 凤庆县}\n"
        + "".join(f"  - {{name: r{n}, url: /weibo/keyword/医院{n}}}\n" for n in range(3)),
        encoding="utf-8")
    code, out, err = await monitor("sources", "--sources", str(tmp_path / "sources.yaml"))
    assert code == 0, err
    lines = out.splitlines()
    news = next(line for line in lines if line.startswith("city-news"))
    assert news.split()[1:4] == ["auto*", "unknown*", "临沧市*"]  # the bundled jurisdiction
    wjw = next(line for line in lines if line.startswith("wjw"))
    assert wjw.split()[1:4] == ["auto*", "government", "凤庆县"]
    assert "rsshub" in next(line for line in lines if line.startswith("r0")).split()[1]
    rsshub = next(line for line in lines if line.startswith("rsshub.local"))
    assert rsshub.split()[1:4] == ["3", "8", "0s"]
    assert "* not in the file, assumed" in out
