"""事件分析 and the Excel export of an incident, through the real app on the replayed demo
scenario (tests/web/test_browser.py's demo_db: incidents whose first items carry an XSS
title), checked against the store read independently of monitor/store/analysis.py."""

from __future__ import annotations

import io
import json
import re
import shutil
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import openpyxl
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import text

from monitor.app import build_app
from monitor.clock import SHANGHAI, SimClock
from monitor.config import SourceList, load_settings
from monitor.records import Media, Source, SourceKind
from monitor.store import Store
from monitor.store.incidents import get_incident, incident_item_rows, timeline_of
from monitor.store.response import deadlines_of
from monitor.web.analysis import LOOKBACK_HOURS, MIN_ITEMS
from tests.web.test_auth import sign_in
from tests.web.test_browser import DEMO, XSS

Client = Callable[..., Awaitable[TestClient]]
PHONE = "13912345678"
SUMMARY = f"患者王芳（35岁）的家属来电{PHONE}，值班员甲已登记。"


def demo_media(name: str) -> Media:
    """The media types `monitor demo` gives its feeds (monitor/demo/serve.py)."""
    if name.endswith(("-gov", "-wjw")):
        return Media.GOVERNMENT
    if name.startswith(("weibo", "douyin")):
        return Media.SOCIAL
    if name.startswith(("tieba", "zhihu", "people-liuyan")):
        return Media.FORUM
    return Media.LOCAL


def demo_sources() -> SourceList:
    names = sorted({json.loads(line).get("source") or "" for line in
                    DEMO.read_text(encoding="utf-8").splitlines()
                    if json.loads(line)["type"] == "item"})
    return SourceList([Source(name=n, url=f"https://{n}.example.cn/feed", kind=SourceKind.RSS,
                              media=demo_media(n), region="临沧", interval_s=60,
                              weight=2.0 if n.endswith(("-gov", "-wjw", "-daily")) else 1.0)
                       for n in names if n])


def site_copy(demo_db: tuple[str, datetime], folder: Path) -> str:
    """A copy of the replayed store; one item of incident 1 gets a summary with personal
    data in it."""
    url, _ = demo_db
    copy = folder / "analysis.db"
    shutil.copy(url.removeprefix("sqlite:///"), copy)
    db = f"sqlite:///{copy}"
    store = Store(db)
    try:
        store.transaction(lambda c: c.execute(text(
            "UPDATE items SET summary = :s WHERE id = (SELECT MAX(item_id) FROM incident_items "
            "WHERE incident_id = 1)"), {"s": SUMMARY}))
    finally:
        store.close()
    return db


async def client_for(demo_db: tuple[str, datetime], tmp_path: Path, aiohttp_client: Client,
                     name: str | None = "zhang") -> tuple[TestClient, str]:
    db = site_copy(demo_db, tmp_path)
    app = build_app(load_settings(database=db), clock=SimClock(demo_db[1]), poll=False,
                    send_alerts=False, sources=demo_sources())
    client = await aiohttp_client(app)
    if name is not None:
        assert await sign_in(client, name) == 303
    return client, db


def read_store(db: str, incident_id: int) -> dict[str, Any]:
    store = Store(db)
    try:
        return store.transaction(lambda c: {
            "incident": get_incident(c, incident_id), "items": incident_item_rows(c, incident_id),
            "events": timeline_of(c, incident_id), "deadlines": deadlines_of(c, incident_id),
            "filed": c.execute(text("SELECT COUNT(*) FROM incident_items WHERE incident_id = :i"),
                               {"i": incident_id}).scalar(),
            # what each item copies: the collector's repost link, else its story's first item
            "originals": Counter(c.execute(text(
                "SELECT COALESCE(i.repost_of, CASE WHEN s.story_id != i.id THEN s.story_id END)"
                " FROM incident_items f JOIN items i ON i.id = f.item_id LEFT JOIN item_stories"
                " s ON s.item_id = i.id WHERE f.incident_id = :i"), {"i": incident_id}
                ).scalars())})
    finally:
        store.close()


def hour_of(at: datetime) -> datetime:
    return at.astimezone(SHANGHAI).replace(minute=0, second=0, microsecond=0)


def check_hourly(data: dict[str, Any], items: list[dict[str, Any]]) -> None:
    """Counts per hour as the store has them; every share over at least MIN_ITEMS items, and
    exactly the mean of the hours it says it covers."""
    by_hour: dict[datetime, list[dict[str, Any]]] = {}
    for row in items:
        by_hour.setdefault(hour_of(row["at"]), []).append(row)
    hours = [datetime.fromisoformat(h["hour"]) for h in data["hourly"]]
    assert hours == [hours[0] + timedelta(hours=n) for n in range(len(hours))]  # no gaps
    assert {h: len(v) for h, v in by_hour.items()} == {
        datetime.fromisoformat(h["hour"]): h["items"] for h in data["hourly"] if h["items"]}
    for h in data["hourly"]:
        at = datetime.fromisoformat(h["hour"])
        assert h["originals"] + h["reposts"] == h["items"]
        assert h["reposts"] == sum(r["copy"] for r in by_hour.get(at, []))
        if h["negative_share"] is None:
            back = [r for n in range(LOOKBACK_HOURS) for r in
                    by_hour.get(at - timedelta(hours=n), [])]
            assert h["items"] == 0 or len(back) < MIN_ITEMS
            continue
        covered = [r for n in range(h["span"]) for r in by_hour.get(at - timedelta(hours=n), [])]
        assert h["basis"] == len(covered) >= MIN_ITEMS
        assert h["negative_share"] == pytest.approx(
            sum(r["negative"] for r in covered) / len(covered), abs=0.001)


@pytest.mark.parametrize("incident_id", [1, 2])
async def test_the_analysis_is_what_the_store_holds(
        demo_db: tuple[str, datetime], tmp_path: Path, aiohttp_client: Client,
        incident_id: int) -> None:
    client, db = await client_for(demo_db, tmp_path, aiohttp_client)
    reply = await client.get(f"/api/incidents/{incident_id}/analysis")
    assert reply.status == 200
    data = await reply.json()
    held = read_store(db, incident_id)
    incident, items = held["incident"], held["items"]
    assert data["items"] == sum(h["items"] for h in data["hourly"]) == held["filed"] \
        == len(items) == incident.items
    check_hourly(data, items)
    assert any(h["negative_share"] is not None for h in data["hourly"])
    # the response on the same time axis: the opening, each milestone, each deadline
    opened = next(e for e in held["events"] if e.type == "opened")
    assert datetime.fromisoformat(data["opened"]["at"]) == opened.at
    assert data["opened"]["label"] == "发现立案"
    milestones = [e for e in held["events"] if e.type == "milestone_recorded"]
    assert milestones
    assert [(datetime.fromisoformat(m["at"]), m["url"]) for m in data["milestones"]] == [
        (e.at, e.data.get("url")) for e in milestones]
    assert [(d["key"], datetime.fromisoformat(d["due"]), d["status"])
            for d in data["deadlines"]] == [(d.key, d.due_at, d.status)
                                            for d in held["deadlines"]]
    assert {d["status"] for d in data["deadlines"]} >= {"met", "missed"}
    # 传播路径: the first post, then each source in the order it first carried the story
    spread = data["spread"]
    assert spread["first"]["id"] == incident.first_item_id == items[0]["id"]
    assert spread["sources"][0]["post"]["id"] == incident.first_item_id
    firsts: dict[str, datetime] = {}
    for row in items:
        firsts.setdefault(row["source"], row["at"])
    assert [s["source"] for s in spread["sources"]] == list(firsts)
    assert [datetime.fromisoformat(s["at"]) for s in spread["sources"]] == list(firsts.values())
    per_source = Counter(r["source"] for r in items)
    assert {s["source"]: s["items"] for s in spread["sources"]} == per_source
    assert spread["reach"], "the incident has reposts"
    assert all(p["repost"] for p in spread["reach"])
    # key posts
    negative = data["key_posts"]["negative"]
    listed = {p["id"] for p in negative}
    rest = [r["negative"] for r in items if not r["copy"] and r["id"] not in listed]
    assert [p["negative"] for p in negative] == sorted((p["negative"] for p in negative),
                                                       reverse=True)
    assert not rest or max(rest) <= min(p["negative"] for p in negative) + 0.001
    copies = held["originals"]
    copies.pop(None, None)
    reposted = data["key_posts"]["reposted"]
    assert [(p["id"], p["reposts"]) for p in reposted] == sorted(
        copies.items(), key=lambda kv: (-kv[1], kv[0]))[:len(reposted)]
    official = data["key_posts"]["official"]
    assert {m["url"] for m in data["milestones"]} <= {p["url"] for p in official}
    assert any(p["media"] == "government" for p in official)
    # hot words, media types and districts
    assert data["words"]
    assert [w["count"] for w in data["words"]] == sorted((w["count"] for w in data["words"]),
                                                         reverse=True)
    assert sum(m["items"] for m in data["media"]) == len(items)
    assert {m["name"] for m in data["media"]} >= {"政府网站", "社交媒体"}
    assert data["regions"][0]["name"] == incident.region
    assert data["regions"][0]["items"] + data["regions_none"] <= len(items)
    assert data["colour"] == {"I": "#c62828", "II": "#ef6c00", "III": "#f9a825",
                              "IV": "#1e63c4"}[incident.level or incident.proposed_level]


async def test_the_analysis_needs_a_sign_in_and_a_known_incident(
        demo_db: tuple[str, datetime], tmp_path: Path, aiohttp_client: Client) -> None:
    client, _ = await client_for(demo_db, tmp_path, aiohttp_client, name=None)
    signed_out = await client.get("/api/incidents/1/analysis")
    assert signed_out.status == 401
    assert (await signed_out.json())["error"] == "sign in first"
    export = await client.get("/incidents/1/items.xlsx", allow_redirects=False)
    assert (export.status, export.headers["Location"]) == (303, "/login")
    assert await sign_in(client, "wang") == 303
    for path in ("/api/incidents/999/analysis", "/api/incidents/x/analysis"):
        reply = await client.get(path)
        assert reply.status == 404
        assert "no incident" in (await reply.json())["error"]
    assert (await client.get("/incidents/999/items.xlsx")).status == 404
    assert (await client.get("/api/incidents/1/analysis")).status == 200


async def test_the_page_shows_the_analysis_and_escapes_feed_text(
        demo_db: tuple[str, datetime], tmp_path: Path, aiohttp_client: Client) -> None:
    client, db = await client_for(demo_db, tmp_path, aiohttp_client, "wang")
    page = await (await client.get("/incidents/1")).text()
    for shown in ("事件分析", "舆情走势与处置节点", "传播路径", "重点信息", "热词", "媒体类型",
                  "地区分布", "首发", "官方回应", "处置时限", "时间线", "代表性信息"):
        assert shown in page, shown
    assert 'href="/incidents/1/items.xlsx"' in page
    assert 'data-api="/api/incidents/1/analysis"' in page
    assert len(re.findall(r"data-chart=\w+", page)) == 5
    for script in ("echarts.min.js", "echarts-wordcloud.min.js", "incident.js"):
        assert f"<script src=/static/{script}></script>" in page
    assert "<script>window.__xss" not in page
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=" in page
    assert f"不少于 {MIN_ITEMS} 条" in page  # the caption says how the share is taken
    held = read_store(db, 1)
    assert f"{len(held['items'])}</b>条信息" in page
    script = await client.get("/static/incident.js")
    assert script.status == 200
    assert script.content_type == "text/javascript"
    assert "getElementById('analysis')" in await script.text()


@pytest.mark.parametrize("name", ["zhang", "wang", "li"])
async def test_the_export_holds_every_item_as_text_with_links(
        demo_db: tuple[str, datetime], tmp_path: Path, aiohttp_client: Client,
        name: str) -> None:
    client, db = await client_for(demo_db, tmp_path, aiohttp_client, name)
    reply = await client.get("/incidents/1/items.xlsx")
    assert reply.status == 200
    assert reply.content_type == \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    disposition = reply.headers["Content-Disposition"]
    assert disposition.startswith("attachment; ")
    assert 'filename="incident-1-items.xlsx"' in disposition
    encoded = re.search(r"filename\*=UTF-8''(\S+)", disposition)
    assert encoded is not None
    assert unquote(encoded.group(1)) == "事件1_信息.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(await reply.read()))
    assert book.sheetnames == ["事件概况", "信息列表", "传播路径", "时间线"]
    held = read_store(db, 1)
    items, incident = held["items"], held["incident"]

    listed = book["信息列表"]
    rows = list(listed.iter_rows(values_only=True))
    assert rows[0] == ("时间", "来源", "媒体类型", "标题", "摘要", "负面程度", "是否转载", "首发")
    assert len(rows) - 1 == len(items)
    first = listed.cell(2, 4)
    assert first.value == items[0]["title"]
    assert first.value.startswith(XSS)
    assert first.data_type == "s"  # text, never a formula or markup
    assert first.hyperlink is not None
    assert first.hyperlink.target == items[0]["url"]
    assert listed.cell(2, 1).value == items[0]["at"].astimezone(SHANGHAI).replace(tzinfo=None)
    assert listed.cell(2, 8).value == "本条"
    summaries = [r[4] for r in rows[1:]]
    assert not any(PHONE in (s or "") for s in summaries)
    assert any("139****5678" in (s or "") and "王某" in s and "值班员甲" in s
               for s in summaries)
    copied = next(n for n, r in enumerate(items) if r["copy"])
    assert listed.cell(copied + 2, 7).value == "是"
    assert listed.cell(copied + 2, 8).value != "本条"
    media = {r[2] for r in rows[1:]}
    assert {"政府网站", "社交媒体"} <= media

    overview = {r[0]: r[1] for r in book["事件概况"].iter_rows(min_row=2, values_only=True)}
    assert overview["标题"] == incident.title
    assert overview["信息数"] == len(items)
    assert overview["首发来源"] == incident.first_source
    assert overview["地区"] == incident.region
    assert overview["负面占比"] == f"{incident.negative_share:.0%}"
    told = [k for k in overview if str(k).startswith("处置时限：")]
    assert len(told) == len(held["deadlines"])
    assert any("已超时" in str(overview[k]) for k in told)
    assert any("已完成" in str(overview[k]) for k in told)

    spread = list(book["传播路径"].iter_rows(values_only=True))
    assert spread[0] == ("序号", "首次时间", "来源", "媒体类型", "权重", "信息数", "首条信息",
                         "转载自")
    assert len(spread) - 1 == len({r["source"] for r in items})
    assert spread[1][2] == incident.first_source
    assert str(spread[1][6]).startswith(XSS)

    timeline = list(book["时间线"].iter_rows(values_only=True))
    assert timeline[0] == ("时间", "事项", "人员", "说明")
    assert len(timeline) - 1 == sum(e.type != "item_added" for e in held["events"])
    assert "记录处置节点" in {r[1] for r in timeline}


async def test_the_figures_follow_what_is_done(demo_db: tuple[str, datetime], tmp_path: Path,
                                               aiohttp_client: Client) -> None:
    """The figures are kept while the incident is unchanged: a milestone recorded since shows
    at once."""
    client, _ = await client_for(demo_db, tmp_path, aiohttp_client)
    before = await (await client.get("/api/incidents/2/analysis")).json()
    assert await (await client.get("/api/incidents/2/analysis")).json() == before
    me = await (await client.get("/api/me")).json()
    done = await client.post("/api/incidents/2/actions", json={
        "action": "milestone", "kind": "press_conference",
        "url": "https://wjw.example.gov.cn/fbh/2"}, headers={"X-CSRF-Token": me["csrf"]})
    assert done.status == 200
    after = await (await client.get("/api/incidents/2/analysis")).json()
    assert [m["kind"] for m in after["milestones"]] == [
        *(m["kind"] for m in before["milestones"]), "press_conference"]
    assert "https://wjw.example.gov.cn/fbh/2" in {p["url"] for p in after["key_posts"]["official"]}
