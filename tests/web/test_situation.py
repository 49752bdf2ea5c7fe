"""舆情态势 through the service's own app on the replayed demo: the API's figures are the
store's (counted here again in plain SQL and Python), periods are read or refused in Chinese,
signed-out callers get nothing, and the Excel export reads back with its sheets, headers,
de-identified rows, links, and a feed's markup kept as plain text."""

from __future__ import annotations

import io
import json
import re
import shutil
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import openpyxl
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import text

from monitor.analyze.lexicon import load_profile, load_taxonomy
from monitor.app import build_app
from monitor.clock import SHANGHAI, SimClock
from monitor.config import PROJECT_DIR, SourceList, load_settings
from monitor.records import Media, Source, SourceKind
from monitor.store import Store
from monitor.web import situation
from tests.web.test_auth import sign_in

Client = Callable[..., Awaitable[TestClient]]
XSS_MARK = "<img src=x onerror="
PHONE = "13912345678"
SHEETS = ["概览", "信息列表", "领域分布", "媒体分布", "地区分布", "热词", "重点事件"]


def demo_sources(url: str) -> SourceList:
    """The replayed sources with media types as the demo gives them, a few more kinds, and
    no entry for 'intake' (reports entered by hand are no feed's)."""
    store = Store(url)
    try:
        names = store.transaction(lambda c: [r[0] for r in c.execute(text(
            "SELECT DISTINCT source FROM items ORDER BY source"))])
    finally:
        store.close()

    def media(name: str) -> Media:
        if name.endswith(("-gov", "-wjw")):
            return Media.GOVERNMENT
        if name.startswith(("weibo", "douyin")):
            return Media.SOCIAL
        if name.startswith(("tieba", "zhihu", "people-liuyan")):
            return Media.FORUM
        return {"thepaper": Media.CENTRAL, "yunnan-net": Media.PROVINCIAL}.get(name,
                                                                              Media.LOCAL)

    return SourceList([Source(name=n, url=f"https://{n}.example.cn/feed", kind=SourceKind.RSS,
                              media=media(n), region="临沧市", interval_s=900)
                       for n in names if n != "intake"])


def situation_copy(demo_db: tuple[str, datetime], folder: Path) -> str:
    """A copy of the replayed demo whose first health item's title carries a phone number."""
    copy = folder / "situation.db"
    shutil.copy(demo_db[0].removeprefix("sqlite:///"), copy)
    url = f"sqlite:///{copy}"
    store = Store(url)
    try:
        store.transaction(lambda c: c.execute(text(
            "UPDATE items SET title = title || :p WHERE id = (SELECT min(item_id) FROM signals "
            "WHERE health AND item_id NOT IN (SELECT first_item_id FROM incidents))"),
            {"p": f"（家属电话{PHONE}）"}))
    finally:
        store.close()
    return url


@pytest.fixture
async def leader(demo_db: tuple[str, datetime], tmp_path: Path, aiohttp_client: Client
                 ) -> tuple[TestClient, str, datetime]:
    url = situation_copy(demo_db, tmp_path)
    app = build_app(load_settings(database=url), clock=SimClock(demo_db[1]), poll=False,
                    send_alerts=False, sources=demo_sources(url))
    client = await aiohttp_client(app)
    assert await sign_in(client, "wang") == 303
    return client, url, demo_db[1]


def bounds(first: date, last: date) -> tuple[str, str]:
    """The period's ends as the store writes times (naive UTC), for plain SQL."""
    start = datetime.combine(first, time(), SHANGHAI)
    end = datetime.combine(last + timedelta(days=1), time(), SHANGHAI)
    return _utc(start), _utc(end)


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(" ", timespec="microseconds")


def health_rows(url: str, first: date, last: date) -> list[Any]:
    start, end = bounds(first, last)
    store = Store(url)
    try:
        return store.transaction(lambda c: list(c.execute(text(
            "SELECT i.id, i.source, i.title, s.negative, s.topics, s.places FROM items i "
            "JOIN signals s ON s.item_id = i.id WHERE s.health AND i.fetched_at >= :a AND "
            "i.fetched_at < :b ORDER BY i.fetched_at, i.id"), {"a": start, "b": end})))
    finally:
        store.close()


def scalar(url: str, sql: str, **values: Any) -> Any:
    store = Store(url)
    try:
        return store.transaction(lambda c: c.execute(text(sql), values).scalar())
    finally:
        store.close()


async def test_the_figures_are_the_stores(leader: tuple[TestClient, str, datetime]) -> None:
    client, url, now = leader
    reply = await client.get("/api/situation?period=7d")
    assert reply.status == 200
    s = await reply.json()
    today = now.astimezone(SHANGHAI).date()
    first = today - timedelta(days=6)
    assert (s["period"]["from"], s["period"]["to"]) == (str(first), str(today))
    start, end = bounds(first, today)
    items = scalar(url, "SELECT count(*) FROM items WHERE fetched_at >= :a AND fetched_at < :b",
                   a=start, b=end)
    rows = health_rows(url, first, today)
    negative = sum(r.negative >= 0.5 for r in rows)
    positive = sum(r.negative < 0.2 for r in rows)
    k = s["kpis"]
    assert items > 1000
    assert len(rows) > 100
    assert (k["items"], k["health"], k["negative"]) == (items, len(rows), negative)
    assert k["negative_share"] == pytest.approx(negative / len(rows), abs=1e-4)
    assert k["incidents_opened"] == scalar(
        url, "SELECT count(*) FROM incidents WHERE status != 'merged' AND opened_at >= :a AND "
             "opened_at < :b", a=start, b=end) > 0
    assert k["incidents_open"] == scalar(
        url, "SELECT count(*) FROM incidents WHERE status IN ('open', 'confirmed', "
             "'responding')")
    assert k["deadlines_missed"] == scalar(
        url, "SELECT count(*) FROM deadlines WHERE status != 'cancelled' AND missed_at >= :a "
             "AND missed_at < :b", a=start, b=end)
    # the trend by day adds up to the KPIs
    assert s["trend"]["bucket"] == "day"
    assert len(s["trend"]["labels"]) == 7
    assert (sum(s["trend"]["all"]), sum(s["trend"]["health"])) == (items, len(rows))
    assert {t["key"]: t["value"] for t in s["sentiment"]} == {
        "negative": negative, "positive": positive,
        "neutral": len(rows) - negative - positive}
    # topics: every health item in each of its topics, by the taxonomy's Chinese names
    topics = Counter(t["key"] for r in rows for t in json.loads(r.topics))
    names = {t.key: t.name for t in load_taxonomy()}
    assert {t["key"]: t["value"] for t in s["topics"]} == {k: topics.get(k, 0) for k in names}
    assert {t["name"] for t in s["topics"]} == set(names.values())
    # media: the sources' types; reports entered by hand are 人工录入, unknown sources 其他
    media = {src.name: src.media.value for src in demo_sources(url).sources}
    expected = Counter("intake" if r.source == "intake" else media.get(r.source, "unknown")
                       for r in rows)
    assert {m["key"]: m["value"] for m in s["media"]} == dict(expected)
    assert {"社交媒体", "论坛留言板", "政府网站"} <= {m["name"] for m in s["media"]}
    # counties: each item in every county it names a place of; the city's own units 市本级
    profile = load_profile(PROJECT_DIR / "profile.yaml")
    region_of = {p.name: p.region for p in profile.places if p.region}
    city = {p.name for p in profile.places if p.region is None}
    regions: Counter[str] = Counter()
    for r in rows:
        named = {region_of[p] for p in json.loads(r.places) if p in region_of}
        regions.update(named or ({"市本级"} if set(json.loads(r.places)) & city else set()))
    assert {g["name"]: g["value"] for g in s["regions"] if g["value"]} == dict(regions)
    assert [g["label"] for g in s["regions"]][:2] == ["临翔区", "凤庆县"]
    assert "双江县" in [g["label"] for g in s["regions"]]  # the short form of a long name
    # hot words: ranked, each in at most as many titles as hold it, no place names
    words = s["hot_words"]
    assert words
    assert [w["count"] for w in words] == sorted((w["count"] for w in words), reverse=True)
    titles = [r.title.casefold() for r in rows]
    for w in words[:10]:
        assert w["count"] <= sum(w["word"] in t for t in titles), w
    assert not {w["word"] for w in words} & {"临沧", "临沧市", "凤庆县", "双江", "耿马"}
    # the hottest incidents, hottest first, with Chinese level and status names
    top = s["top_incidents"]
    heats = [i["heat"] for i in top]
    assert top
    assert heats == sorted(heats, reverse=True)
    assert all(i["level_name"] and i["status_name"] for i in top)
    # the page and the API answer alike for the same query
    page = await (await client.get("/situation?period=7d")).text()
    assert f"{items:,}" in page
    assert "导出Excel" in page
    assert 'data-api="/api/situation?period=7d"' in page


async def test_today_goes_by_hour_and_an_empty_period_is_zero(
        leader: tuple[TestClient, str, datetime]) -> None:
    client, url, now = leader
    s = await (await client.get("/api/situation?period=today")).json()
    today = now.astimezone(SHANGHAI).date()
    assert s["trend"]["bucket"] == "hour"
    hour = now.astimezone(SHANGHAI).hour
    assert len(s["trend"]["labels"]) == hour + 1  # midnight to the current hour
    start, end = bounds(today, today)
    assert sum(s["trend"]["all"]) == s["kpis"]["items"] == scalar(
        url, "SELECT count(*) FROM items WHERE fetched_at >= :a AND fetched_at < :b",
        a=start, b=end)
    empty = await (await client.get("/api/situation?period=custom&from=2025-01-01"
                                    "&to=2025-01-31")).json()
    assert empty["kpis"]["items"] == empty["kpis"]["health"] == 0
    assert empty["hot_words"] == []
    assert empty["media"] == []
    assert sum(empty["trend"]["all"]) == 0
    assert len(empty["trend"]["labels"]) == 31
    # asked again, the days kept are the same figures
    again = await (await client.get("/api/situation?period=7d")).json()
    first = await (await client.get("/api/situation?period=7d")).json()
    assert again["kpis"] == first["kpis"]
    assert again["hot_words"] == first["hot_words"]


@pytest.mark.parametrize(("query", "message"), [
    ("period=custom&from=2026-02-30&to=2026-03-02", "日期"),
    ("period=custom&from=yesterday&to=2026-03-02", "日期"),
    ("period=custom&from=2026-03-02", "日期"),
    ("period=custom&from=2026-03-02&to=2026-03-01", "止日期不能早于起日期"),
    ("period=custom&from=2099-01-01&to=2099-01-02", "起日期不能晚于今天"),
    ("period=custom&from=2024-01-01&to=2026-03-02", "期间最长366天"),
    ("period=year", "期间应为"),
])
async def test_bad_periods_are_refused_in_chinese(
        leader: tuple[TestClient, str, datetime], query: str, message: str) -> None:
    client, _, _ = leader
    reply = await client.get(f"/api/situation?{query}")
    assert reply.status == 400
    assert message in (await reply.json())["error"]
    for path in ("/situation", "/situation.xlsx"):
        page = await client.get(f"{path}?{query}")
        assert page.status == 400
        assert message in await page.text()


async def test_signed_out_callers_get_nothing(demo_db: tuple[str, datetime], tmp_path: Path,
                                              aiohttp_client: Client) -> None:
    url = situation_copy(demo_db, tmp_path)
    app = build_app(load_settings(database=url), clock=SimClock(demo_db[1]), poll=False,
                    send_alerts=False)
    client = await aiohttp_client(app)
    api = await client.get("/api/situation?period=7d")
    assert api.status == 401
    assert (await api.json()) == {"error": "sign in first"}
    for path in ("/situation", "/situation.xlsx?period=7d"):
        reply = await client.get(path, allow_redirects=False)
        assert reply.status == 303
        assert reply.headers["Location"] == "/login"
    # signed in, the navigation leads to it
    assert await sign_in(client, "zhang") == 303
    board = await (await client.get("/board")).text()
    assert "<a href=/situation>舆情态势</a>" in board
    script = await client.get("/static/situation.js")
    assert script.status == 200
    assert script.content_type == "text/javascript"
    assert "echarts.init" in await script.text()


def read_book(body: bytes) -> Any:
    return openpyxl.load_workbook(io.BytesIO(body))


async def test_the_workbook_reads_back_with_text_kept_as_text(
        leader: tuple[TestClient, str, datetime]) -> None:
    client, url, now = leader
    reply = await client.get("/situation.xlsx?period=7d")
    assert reply.status == 200
    assert reply.content_type == situation.XLSX
    today = now.astimezone(SHANGHAI).date()
    first = today - timedelta(days=6)
    disposition = reply.headers["Content-Disposition"]
    assert disposition.startswith("attachment; ")
    assert f'filename="situation_{first}_{today}.xlsx"' in disposition
    named = re.search(r"filename\*=UTF-8''(\S+)", disposition)
    assert named is not None
    assert unquote(named.group(1)) == f"舆情态势_{first}_{today}.xlsx"
    book = read_book(await reply.read())
    assert book.sheetnames == SHEETS
    listing = book["信息列表"]
    assert [c.value for c in listing[1]] == ["时间", "来源", "媒体类型", "标题", "领域",
                                            "负面程度", "地区"]
    rows = health_rows(url, first, today)
    body = list(listing.iter_rows(min_row=2))
    assert len(body) == len(rows)
    # Beijing time, without a zone (Excel has none), in time order
    first_time = body[0][0].value
    assert isinstance(first_time, datetime)
    assert first_time.tzinfo is None
    assert first_time.date() >= first
    # a feed's markup is a string in a cell, never a formula or anything else
    marked = [row[3] for row in body if XSS_MARK in str(row[3].value)]
    assert marked, "the XSS titles of the incidents' first items are listed"
    assert all(cell.data_type == "s" for cell in marked)
    # titles link to the original (http/https), personal data masked
    assert body[0][3].hyperlink is not None
    assert body[0][3].hyperlink.target.startswith("http")
    titles = [str(row[3].value) for row in body]
    assert not any(PHONE in t for t in titles)
    assert any("139****5678" in t for t in titles)
    assert {row[2].value for row in body} >= {"社交媒体", "论坛留言板"}
    assert all(isinstance(row[5].value, int | float) and 0 <= row[5].value <= 1 for row in body)
    overview = {r[0].value: r[1].value for r in book["概览"].iter_rows(min_row=2)}
    assert overview["健康相关"] == f"{len(rows):,}"
    assert overview["信息列表"] == f"共{len(rows):,}条"
    assert "负面" in overview["情感划分"]
    topics = book["领域分布"]
    assert [c.value for c in topics[1]] == ["领域", "信息数", "占比"]
    assert {r[0].value for r in topics.iter_rows(min_row=2)} == {
        t.name for t in load_taxonomy()}
    assert [c.value for c in book["媒体分布"][1]] == ["媒体类型", "信息数", "占比"]
    assert [c.value for c in book["地区分布"][1]] == ["地区", "信息数"]
    words = list(book["热词"].iter_rows(min_row=2, values_only=True))
    assert words
    assert words[0][0] == 1
    incidents = list(book["重点事件"].iter_rows(min_row=1, values_only=True))
    assert incidents[0][:4] == ("编号", "事件", "级别", "状态")
    assert len(incidents) > 1


async def test_a_capped_workbook_says_so(leader: tuple[TestClient, str, datetime],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    client, _, _ = leader
    monkeypatch.setattr(situation, "MAX_ROWS", 5)
    book = read_book(await (await client.get("/situation.xlsx?period=7d")).read())
    rows = list(book["信息列表"].iter_rows(min_row=2, values_only=True))
    assert len(rows) == 6
    assert "仅列出前5条" in str(rows[-1][3])
    overview = {r[0]: r[1] for r in book["概览"].iter_rows(min_row=2, values_only=True)}
    assert "仅列出前5条" in str(overview["信息列表"])
