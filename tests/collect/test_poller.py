"""The collector end to end against a real local HTTP server: each case ends with the right
items stored, the right source-health row, and the other sources still polled."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp import web

from monitor.clock import SimClock
from monitor.collect.fetch import Fetcher
from monitor.collect.poller import Poller, PollReport
from monitor.config import FetchSettings
from monitor.records import FetchStatus, SourceKind
from monitor.store import Store
from monitor.store.items import list_items
from monitor.store.sources import get_health
from tests.conftest import FEEDS as FEEDS_DIR
from tests.conftest import FeedHost, make_source

Poll = Callable[..., Awaitable[dict[str, PollReport]]]


def titles(store: Store, source: str) -> list[str]:
    return [i.title for i in store.transaction(lambda c: list_items(c, source=source))]


def health(store: Store, source: str):  # type: ignore[no-untyped-def]
    return store.transaction(lambda c: get_health(c, source))


async def test_feeds_in_every_encoding_and_format_are_stored(
        feed_host: FeedHost, poll: Poll, store: Store) -> None:
    cases = {
        "utf8": ("utf8_rss2.xml", "application/rss+xml", SourceKind.RSS),
        "gbk2312": ("gbk_labelled_gb2312.xml", "text/xml", SourceKind.RSS),
        "gbkhttp": ("gbk_http_charset.xml", "text/xml; charset=GBK", SourceKind.RSS),
        "gb18030": ("gb18030.xml", "text/xml", SourceKind.RSS),
        "wrongprolog": ("wrong_prolog_utf8.xml", "text/xml", SourceKind.RSS),
        "rss091": ("rss091.xml", "text/xml", SourceKind.RSS),
        "atom": ("atom.xml", "application/atom+xml", SourceKind.ATOM),
        "jsonfeed": ("feed.json", "application/feed+json", SourceKind.JSON),
    }
    sources = [make_source(name, feed_host.serve_file(f"/{name}", file, ctype), kind)
               for name, (file, ctype, kind) in cases.items()]
    reports = await poll(*sources)
    assert {r.status for r in reports.values()} == {FetchStatus.OK}
    assert titles(store, "gbk2312")[0] == "凤庆县医院张喆医生获表彰"  # 喆 is GBK, not GB2312
    assert titles(store, "gbkhttp") == ["沧源县卫生院改造完成"]
    assert titles(store, "gb18030") == ["永德县罕见病患者𠮷先生获救助"]  # a four-byte GB18030 char
    assert titles(store, "wrongprolog") == ["云县医共体建设推进会召开"]
    assert titles(store, "rss091") == ["临翔区开展爱国卫生运动", "临翔区健康教育进社区活动启动"]
    assert titles(store, "atom")[0] == "全省传染病疫情概况"
    assert titles(store, "jsonfeed") == ["临沧市中医医院专家义诊", "春季流感预防提示"]
    gbk = store.transaction(lambda c: list_items(c, source="gbk2312"))
    assert gbk[0].encoding == "gb18030 (xml prolog gb2312)"
    assert health(store, "utf8").entries_per_day > 0


async def test_malformed_feed_keeps_what_can_be_read_and_records_a_warning(
        feed_host: FeedHost, poll: Poll, store: Store) -> None:
    src = make_source("forum", feed_host.serve_file("/bad.xml", "malformed.xml"))
    report = (await poll(src))["forum"]
    assert report.status is FetchStatus.OK
    assert report.new == 2
    row = health(store, "forum")
    assert row.last_warning is not None
    assert "malformed feed" in row.last_warning
    assert row.consecutive_failures == 0


async def test_html_instead_of_a_feed_is_an_error_and_others_go_on(
        feed_host: FeedHost, poll: Poll, store: Store) -> None:
    bad = make_source("html", feed_host.serve_file("/page", "html_page.html", "text/html"))
    good = make_source("good", feed_host.serve_file("/good", "utf8_rss2.xml"))
    reports = await poll(bad, good)
    assert reports["html"].status is FetchStatus.ERROR
    assert "HTML page" in (reports["html"].error or "")
    assert reports["good"].new == 3
    assert health(store, "html").consecutive_failures == 1


async def test_304_and_unchanged_body_cost_no_parse_and_send_validators(
        feed_host: FeedHost, poll: Poll, store: Store, clock: SimClock) -> None:
    feed = (FEEDS_DIR / "utf8_rss2.xml").read_bytes()

    async def conditional(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304, headers={"ETag": '"v1"'})
        return web.Response(body=feed, headers={"ETag": '"v1"', "Content-Type": "text/xml"})

    feed_host.routes["/cond"] = conditional
    feed_host.routes["/same"] = (200, feed, {"Content-Type": "text/xml"})  # no validators at all
    cond = make_source("cond", feed_host.url("/cond"))
    same = make_source("same", feed_host.url("/same"))
    first = await poll(cond, same)
    assert first["cond"].new == 3
    assert first["same"].new == 3
    clock.advance(3600)
    second = await poll(cond, same)
    assert feed_host.last_headers["/cond"]["If-None-Match"] == '"v1"'
    assert second["cond"].status is FetchStatus.NOT_MODIFIED
    assert second["cond"].http_status == 304
    assert second["same"].status is FetchStatus.NOT_MODIFIED  # same body hash: not parsed
    assert health(store, "same").last_success_at == clock.now()


async def test_etag_change_brings_new_items(feed_host: FeedHost, poll: Poll,
                                            store: Store) -> None:
    versions = {"v1": (FEEDS_DIR / "rss091.xml").read_bytes(),
                "v2": (FEEDS_DIR / "rss091.xml").read_bytes().replace(
                    b"</channel>", b"<item><title>\xe6\x96\xb0\xe5\xa2\x9e\xe4\xb8\x80\xe6\x9d"
                                   b"\xa1\xe5\x81\xa5\xe5\xba\xb7\xe6\x8f\x90\xe7\xa4\xba\xe4"
                                   b"\xbf\xa1\xe6\x81\xaf</title><link>https://old.example.gov.cn"
                                   b"/a/3.html</link></item></channel>")}
    current = {"tag": "v1"}

    async def changing(request: web.Request) -> web.Response:
        tag = current["tag"]
        if request.headers.get("If-None-Match") == f'"{tag}"':
            return web.Response(status=304)
        return web.Response(body=versions[tag], headers={"ETag": f'"{tag}"'})

    feed_host.routes["/feed"] = changing
    src = make_source("changing", feed_host.url("/feed"))
    assert (await poll(src))["changing"].new == 2
    assert (await poll(src))["changing"].status is FetchStatus.NOT_MODIFIED
    current["tag"] = "v2"
    report = (await poll(src))["changing"]
    assert report.new == 1
    assert titles(store, "changing")[-1] == "新增一条健康提示信息"
    assert health(store, "changing").etag == '"v2"'


async def test_404_and_500_back_off_and_recovery_speeds_up(
        feed_host: FeedHost, poll: Poll, store: Store, clock: SimClock) -> None:
    feed_host.routes["/e500"] = (500, b"oops", {})
    src404 = make_source("e404", feed_host.url("/missing"))
    src500 = make_source("e500", feed_host.url("/e500"))
    first = await poll(src404, src500)
    assert first["e404"].http_status == 404
    assert health(store, "e404").fault == "refused"
    assert first["e500"].error == "HTTP 500 Internal Server Error"
    assert health(store, "e500").fault == "down"
    now = clock.now()
    assert health(store, "e500").next_check_at == now + timedelta(seconds=2 * 900)
    second = await poll(src500)
    assert second["e500"].status is FetchStatus.ERROR
    row = health(store, "e500")
    assert row.consecutive_failures == 2
    assert row.next_check_at == now + timedelta(seconds=3 * 900)  # linear back-off
    feed_host.serve_file("/e500", "utf8_rss2.xml")
    recovered = await poll(src500)
    assert recovered["e500"].new == 3
    row = health(store, "e500")
    assert row.consecutive_failures == 0
    assert row.last_error is None
    # three entries in the last week: a week / 3, clamped to the 24 h ceiling
    assert row.next_check_at == now + timedelta(hours=24)


async def test_429_with_retry_after_makes_the_whole_host_wait_without_failing_anyone(
        feed_host: FeedHost, poll: Poll, store: Store, clock: SimClock) -> None:
    feed_host.routes["/e429"] = (429, b"slow down", {"Retry-After": "7200"})
    feed_host.serve_file("/ok", "utf8_rss2.xml")
    src429 = make_source("e429", feed_host.url("/e429"))
    first = (await poll(src429))["e429"]
    assert first.status is FetchStatus.BUSY
    row = health(store, "e429")
    assert (row.fault, row.consecutive_failures) == ("busy", 0)
    assert row.next_check_at == clock.now() + timedelta(seconds=7200)
    # another source of that host is not asked while the host said to wait
    other = (await poll(make_source("ok", feed_host.url("/ok"))))["ok"]
    assert other.status is FetchStatus.BUSY
    assert "asked us to wait" in (other.error or "")
    assert "/ok" not in feed_host.hits
    assert health(store, "ok").consecutive_failures == 0


async def test_410_stops_the_source(feed_host: FeedHost, poll: Poll, store: Store) -> None:
    feed_host.routes["/gone"] = (410, b"gone", {})
    src = make_source("gone", feed_host.url("/gone"))
    first = (await poll(src))["gone"]
    assert first.status is FetchStatus.GONE
    assert health(store, "gone").next_check_at is None
    second = (await poll(src))["gone"]
    assert second.status is FetchStatus.GONE
    assert feed_host.hits["/gone"] == 1  # not asked again


async def test_slow_drip_server_is_cut_off_by_the_total_timeout(
        feed_host: FeedHost, poll: Poll, store: Store) -> None:
    async def drip(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/xml"})
        await resp.prepare(request)
        for _ in range(60):
            await resp.write(b" ")
            await asyncio.sleep(0.5)
        return resp

    feed_host.routes["/drip"] = drip
    slow = make_source("drip", feed_host.url("/drip"))
    good = make_source("good", feed_host.serve_file("/good", "rss091.xml"))
    reports = await poll(slow, good)
    assert "timed out after 2 s" in (reports["drip"].error or "")
    assert reports["good"].new == 2
    assert health(store, "drip").consecutive_failures == 1


async def test_gzip_bomb_is_stopped_at_the_cap(feed_host: FeedHost, poll: Poll,
                                               store: Store) -> None:
    bomb = gzip.compress(b"<rss>" + b"\0" * (64 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 100_000
    feed_host.routes["/bomb"] = (200, bomb, {"Content-Encoding": "gzip",
                                             "Content-Type": "text/xml"})
    report = (await poll(make_source("bomb", feed_host.url("/bomb"))))["bomb"]
    assert report.status is FetchStatus.ERROR
    assert "exceeds the 16777216-byte cap" in (report.error or "")
    assert titles(store, "bomb") == []


async def test_oversized_body_is_refused(feed_host: FeedHost, poll: Poll, store: Store) -> None:
    feed_host.routes["/huge"] = (200, b"<rss>" + b" " * (17 * 1024 * 1024), {})
    report = (await poll(make_source("huge", feed_host.url("/huge"))))["huge"]
    assert "exceeds the 16777216-byte cap" in (report.error or "")
    assert health(store, "huge").consecutive_failures == 1


async def test_redirect_loop_and_too_many_redirects_fail_cleanly(
        feed_host: FeedHost, poll: Poll) -> None:
    feed_host.routes["/a"] = (302, b"", {"Location": "/b"})
    feed_host.routes["/b"] = (302, b"", {"Location": "/a"})
    for n in range(8):
        feed_host.routes[f"/r{n}"] = (302, b"", {"Location": f"/r{n + 1}"})
    feed_host.serve_file("/final", "rss091.xml")
    feed_host.routes["/moved"] = (301, b"", {"Location": "/final"})
    reports = await poll(make_source("loop", feed_host.url("/a")),
                         make_source("chain", feed_host.url("/r0")),
                         make_source("moved", feed_host.url("/moved")))
    assert "redirect loop" in (reports["loop"].error or "")
    assert "more than 5 redirects" in (reports["chain"].error or "")
    assert reports["moved"].new == 2
    assert "moved permanently" in (reports["moved"].warning or "")


async def test_redirect_to_loopback_is_refused(feed_host: FeedHost, poll: Poll,
                                               store: Store) -> None:
    feed_host.serve_file("/secret", "rss091.xml")
    feed_host.routes["/evil"] = (302, b"", {"Location": feed_host.url("/secret", "127.0.0.1")})
    report = (await poll(make_source("evil", feed_host.url("/evil"))))["evil"]
    assert "refused to connect to private or loopback address 127.0.0.1" in (report.error or "")
    assert "/secret" not in feed_host.hits
    assert titles(store, "evil") == []


async def test_name_resolving_to_loopback_is_refused_unless_allowed(
        feed_host: FeedHost, store: Store, clock: SimClock,
        fetch_settings: FetchSettings) -> None:
    feed_host.serve_file("/feed", "rss091.xml")
    src = make_source("local", feed_host.url("/feed"))
    strict = Fetcher(fetch_settings.model_copy(update={"allow_private": []}))
    try:
        [report] = await Poller(store, strict, clock).poll_once([src])
    finally:
        await strict.close()
    assert "localhost resolves to private or loopback address 127.0.0.1" in (report.error or "")
    assert "/feed" not in feed_host.hits
    by_cidr = Fetcher(fetch_settings.model_copy(update={"allow_private": ["127.0.0.0/8"]}))
    try:
        [report] = await Poller(store, by_cidr, clock).poll_once([src])
    finally:
        await by_cidr.close()
    assert report.new == 2


async def test_duplicate_and_empty_guids_fall_back_to_links(
        feed_host: FeedHost, poll: Poll, store: Store) -> None:
    src = make_source("hotline", feed_host.serve_file("/dup", "duplicate_guids.xml"))
    assert (await poll(src))["hotline"].new == 5
    stored = store.transaction(lambda c: list_items(c, source="hotline"))
    assert all(i.ident.startswith("u:") for i in stored)
    feed_host.routes["/dup"] = (200, (FEEDS_DIR / "duplicate_guids.xml").read_bytes() + b"\n",
                                {})  # a new body with the same entries
    again = (await poll(src))["hotline"]
    assert again.status is FetchStatus.OK
    assert again.new == 0


async def test_same_story_on_two_sources_is_a_linked_repost(
        feed_host: FeedHost, poll: Poll, store: Store) -> None:
    first = make_source("first", feed_host.serve_file("/one", "utf8_rss2.xml"))
    await poll(first)
    copy = (FEEDS_DIR / "utf8_rss2.xml").read_bytes().replace(b"news-1001", b"other-1")
    copy = copy.replace(b"https://wjw.lincang.example/news/1001.html",
                        b"https://www.newsportal.example/health/a1.html")
    copy = copy.replace("临沧市人民医院开通急诊绿色通道".encode(),
                        "临沧市人民医院开通急诊绿色通道_新闻门户".encode())
    feed_host.routes["/two"] = (200, copy, {})
    report = (await poll(make_source("second", feed_host.url("/two"))))["second"]
    assert report.new == 3
    assert report.reposts == 3  # one by title, two by URL
    originals = {i.title: i.id for i in store.transaction(lambda c: list_items(c, source="first"))}
    for item in store.transaction(lambda c: list_items(c, source="second")):
        assert item.repost_of == originals["临沧市人民医院开通急诊绿色通道"] or \
            item.repost_of in originals.values()




async def test_run_polls_each_source_on_its_own_schedule(
        feed_host: FeedHost, store: Store, clock: SimClock, fetcher: Fetcher) -> None:
    feed_host.serve_file("/feed", "utf8_rss2.xml")
    src = make_source("scheduled", feed_host.url("/feed"))
    polled_at: list[object] = []
    poller = Poller(store, fetcher, clock,
                    on_report=lambda report: polled_at.append(clock.now()))
    task = asyncio.create_task(poller.run([src]))
    for _ in range(200):
        if len(polled_at) >= 3:
            break
        await asyncio.sleep(0.02)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    start = polled_at[0]
    # three entries last week → once a day (the 24 h ceiling); the body is unchanged after that
    assert polled_at[1:3] == [start + timedelta(hours=24), start + timedelta(hours=48)]
    assert health(store, "scheduled").status is FetchStatus.NOT_MODIFIED


async def test_run_stops_polling_a_gone_source(feed_host: FeedHost, store: Store,
                                               clock: SimClock, fetcher: Fetcher) -> None:
    feed_host.routes["/gone"] = (410, b"", {})
    src = make_source("gone", feed_host.url("/gone"))
    await asyncio.wait_for(Poller(store, fetcher, clock).run([src]), 5)  # returns by itself
    assert feed_host.hits["/gone"] == 1


async def test_a_feed_that_breaks_before_its_first_entry_is_an_error_not_healthy(
        feed_host: FeedHost, poll: Poll, store: Store) -> None:
    broken = (b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
              b"<title>\xe5\x8d\xab\xe5\x81\xa5\xe5\xa7\x94 &nbsp;\xe9\x80\x9a\xe7\x9f\xa5</title>"
              b"</channel></rss>")
    empty = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
    feed_host.routes["/broken"] = (200, broken, {"Content-Type": "application/rss+xml"})
    feed_host.routes["/empty"] = (200, empty, {"Content-Type": "application/rss+xml"})
    reports = await poll(make_source("broken", feed_host.url("/broken")),
                         make_source("empty", feed_host.url("/empty")))
    assert reports["broken"].status is FetchStatus.ERROR
    assert "undefined entity" in (reports["broken"].error or "")
    assert health(store, "broken").consecutive_failures == 1
    assert reports["empty"].status is FetchStatus.OK  # a well-formed empty feed is fine
