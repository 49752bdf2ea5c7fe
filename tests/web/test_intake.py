"""人工立案 on the dashboard, through the service's own app on a real store: the form opens an
incident with the signed-in user on its timeline and the caller's number masked; a wrong value
shows the form again and stores nothing; only duty officers and admins may open one, and only
with the session's CSRF token; the 立案 button opens an incident from an item, which the
search page then links to; one opened on the command line reads the same on the dashboard."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from monitor.analyze.analyzer import Analyzer
from monitor.analyze.stage import AnalysisStage
from monitor.app import build_app
from monitor.clock import SHANGHAI, SimClock
from monitor.collect.normalize import normalize_title, normalize_url
from monitor.config import load_settings
from monitor.records import Incident, Item, TimelineEvent
from monitor.store import Store
from monitor.store.incidents import filed_item_ids, list_incidents, timeline_of
from monitor.store.items import insert_items
from monitor.store.schema import items
from monitor.store.users import add_user
from monitor.web.auth import hash_password
from tests.notify.test_ack_web import NOW
from tests.test_cli import monitor
from tests.web.test_auth import PASSWORD, csrf_of, sign_in
from tests.web.test_browse import TEXTS

Client = Callable[..., Awaitable[TestClient]]
MINUTE = "%Y-%m-%dT%H:%M"
CALL = {"title": "12320热线来电：凤庆县人民医院产妇死亡，家属质疑延误救治",
        "text": "来电人（13812345678）称其妻子在凤庆县人民医院生产后大出血死亡，\n家属已聚集医院门口。",
        "channel": "电话/12320热线", "level": "II", "region": "凤庆县", "occurred": "",
        "item_urls": ""}


@pytest.fixture
async def desk(tmp_path: Path, analyzer: Analyzer, aiohttp_client: Client
               ) -> tuple[TestClient, str]:
    """The service on a store with three analysed items, no incident yet, a duty officer
    (zhang, 值班员张) and a leader (wang)."""
    url = f"sqlite:///{tmp_path / 'm.db'}"
    store = Store(url)
    batch = [Item(source="weibo", ident=f"u:{n}", guid=None, url=f"https://w.example/{n}",
                  url_norm=normalize_url(f"https://w.example/{n}"), title=title,
                  title_norm=normalize_title(title), summary=body, published_at=None,
                  fetched_at=NOW, content_hash=f"{n + 10:064x}")
             for n, (title, body) in enumerate(TEXTS)]
    hashed = hash_password(PASSWORD)
    try:
        store.transaction(lambda c: insert_items(c, batch, NOW))
        await AnalysisStage(store, analyzer, SimClock(NOW)).analyse_pending()
        for name, role, shown in (("zhang", "duty_officer", "值班员张"), ("wang", "leader", "王局")):
            store.transaction(lambda c, n=name, r=role, d=shown: add_user(c, n, d, r, hashed,
                                                                          NOW))
    finally:
        store.close()
    app = build_app(load_settings(database=url), clock=SimClock(NOW), poll=False, send_alerts=False)
    return await aiohttp_client(app), url


def stored(url: str) -> tuple[list[Incident], list[TimelineEvent], int]:
    """The incidents, the first one's timeline, and how many items there are."""
    store = Store(url)
    try:
        incidents = store.transaction(list_incidents)
        events = store.transaction(lambda c: timeline_of(c, incidents[0].id)) if incidents else []
        count = store.transaction(lambda c: c.execute(select(func.count()).select_from(items))
                                  .scalar())
    finally:
        store.close()
    return incidents, events, int(count or 0)


def local(minutes_ago: float) -> str:
    """A time as the form's datetime-local sends it: Beijing time, no zone."""
    return (NOW - timedelta(minutes=minutes_ago)).astimezone(SHANGHAI).strftime(MINUTE)


async def test_the_form_opens_an_incident_with_who_and_when_and_the_caller_masked(
        desk: tuple[TestClient, str]) -> None:
    client, url = desk
    assert await sign_in(client, "zhang") == 303
    board = await (await client.get("/board")).text()
    assert "<a href=/incidents/new>人工立案</a>" in board
    form = await client.get("/incidents/new")
    assert form.status == 200
    page = await form.text()
    assert "<h2>人工立案</h2>" in page
    assert f'name=at type=datetime-local required value="{NOW.strftime(MINUTE)}"' in page
    assert '<option value="电话/12320热线" selected>' in page
    assert '<option value="II">Ⅱ级（重大）</option>' in page
    assert "<option value=\"\" selected>不定级</option>" in page
    assert "name=viewport" in page
    assert "<script" not in page  # nothing the security policy would refuse

    done = await client.post("/incidents/new", data={
        **CALL, "csrf": await csrf_of(client), "at": local(30)}, allow_redirects=False)
    assert done.status == 303
    assert done.headers["Location"] == "/incidents/1"

    incidents, events, count = stored(url)
    assert [(i.id, i.title, i.level, i.region) for i in incidents] == [
        (1, CALL["title"], "II", "凤庆县")]
    assert count == len(TEXTS) + 1  # the report, stored as an item of its own
    opened = events[0]
    assert (opened.type, opened.actor) == ("opened", "值班员张")
    assert opened.at == NOW - timedelta(minutes=30)  # Beijing time, as entered
    assert opened.data["by_hand"] is True
    assert opened.data["channel"] == "电话/12320热线"
    assert "138****5678" in str(opened.data["text"])
    assert "13812345678" not in str(opened.data["text"])
    assert opened.data["recorded_at"] == NOW.isoformat()
    assert any(e.type == "confirmed" and e.actor == "值班员张" for e in events)

    shown = await (await client.get("/incidents/1")).text()
    assert f"#1 {CALL['title']}" in shown
    assert "人工立案（电话/12320热线，值班员张）" in shown
    assert "首发 人工录入" in shown  # the report's item, not the internal source name
    assert "138****5678" in shown
    assert "13812345678" not in shown


async def test_a_wrong_value_shows_the_form_again_and_stores_nothing(
        desk: tuple[TestClient, str]) -> None:
    client, url = desk
    assert await sign_in(client, "zhang") == 303
    csrf = await csrf_of(client)
    title = "<script>alert(1)</script>来电反映"
    wrong = {"channel": "微信群", "at": local(10)}
    future = {"channel": "媒体问询", "at": (NOW + timedelta(days=1)).strftime(MINUTE)}
    unreadable = {"channel": "媒体问询", "at": "昨天下午"}
    for values, reason in ((wrong, "微信群"), (future, "in the future"),
                           (unreadable, "获知时间格式不正确")):
        reply = await client.post("/incidents/new", data={
            **CALL, "title": title, "csrf": csrf, **values}, allow_redirects=False)
        assert reply.status == 400
        page = await reply.text()
        assert "<strong>无法立案：</strong>" in page
        assert reason in page
        # what was entered is kept, as text
        assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;来电反映"' in page
        assert "<script>alert(1)" not in page
        assert "家属已聚集医院门口。</textarea>" in page
        assert '<option value="II" selected>' in page
    not_stored = await client.post("/incidents/new", data={
        **CALL, "csrf": csrf, "at": local(10), "item_urls": "https://nowhere.example/1"},
        allow_redirects=False)
    assert not_stored.status == 400
    assert "https://nowhere.example/1</textarea>" in await not_stored.text()
    incidents, _, count = stored(url)
    assert incidents == []
    assert count == len(TEXTS)  # not even the report's item


async def test_only_an_officer_with_the_token_may_open_one(
        desk: tuple[TestClient, str]) -> None:
    client, url = desk
    assert await sign_in(client, "wang") == 303
    assert "/incidents/new" not in await (await client.get("/board")).text()
    page = await client.get("/incidents/new")
    assert page.status == 403
    assert "仅值班员、管理员" in await page.text()
    posted = await client.post("/incidents/new", data={**CALL, "csrf": await csrf_of(client),
                                                       "at": local(5)})
    assert posted.status == 403
    assert (await client.post("/items/1/open", data={"csrf": await csrf_of(client)})
            ).status == 403

    assert await sign_in(client, "zhang") == 303
    untokened = await client.post("/incidents/new", data={**CALL, "at": local(5)})
    assert untokened.status == 403
    forged = await client.post("/incidents/new", data={**CALL, "at": local(5),
                                                       "csrf": "forged"})
    assert forged.status == 403
    assert (await client.post("/items/1/open")).status == 403
    assert stored(url)[0] == []


async def test_the_button_opens_an_incident_from_an_item_which_search_then_links(
        desk: tuple[TestClient, str]) -> None:
    client, url = desk
    assert await sign_in(client, "zhang") == 303
    search = {"q": "产妇 死亡"}
    page = await (await client.get("/items", params=search)).text()
    buttons = re.findall(r"action=/items/(\d+)/open>", page)
    assert len(buttons) == 2  # the two items the words find
    row = re.search(r"<tr>(?:(?!</tr>).)*凤庆县人民医院产妇死亡(?:(?!</tr>).)*</tr>", page)
    assert row is not None
    chosen = re.findall(r"action=/items/(\d+)/open>", row.group(0))[0]
    other = next(b for b in buttons if b != chosen)
    done = await client.post(f"/items/{chosen}/open", data={"csrf": await csrf_of(client)},
                             allow_redirects=False)
    assert done.status == 303
    assert done.headers["Location"] == "/incidents/1"
    incidents, events, count = stored(url)
    assert [i.id for i in incidents] == [1]
    assert count == len(TEXTS)  # opened from the item: no report of its own
    opened = events[0]
    assert (opened.type, opened.actor, opened.at) == ("opened", "值班员张", NOW)
    assert opened.data["title"] == TEXTS[0][0]  # the item's own
    assert (opened.data["by_hand"], opened.data["channel"]) == (True, "网络巡查")
    store = Store(url)
    try:
        assert int(chosen) in store.transaction(lambda c: filed_item_ids(c, 1))
    finally:
        store.close()

    page = await (await client.get("/items", params=search)).text()
    assert "<a href=/incidents/1>事件#1</a>" in page
    # the other post of the story joins the incident once the engine has seen it
    assert re.findall(r"action=/items/(\d+)/open>", page) in ([other], [])
    again = await client.post(f"/items/{chosen}/open", data={"csrf": await csrf_of(client)},
                              allow_redirects=False)
    assert again.headers["Location"] == "/incidents/1"  # to the incident it is in
    assert len(stored(url)[0]) == 1
    assert (await client.post("/items/99/open", data={"csrf": await csrf_of(client)})
            ).status == 404
    shown = await (await client.get("/incidents/1")).text()
    assert "人工立案（网络巡查，值班员张）" in shown

    assert await sign_in(client, "wang") == 303
    leader = await (await client.get("/items", params=search)).text()
    assert "<a href=/incidents/1>事件#1</a>" in leader
    assert "/open>" not in leader


async def test_one_opened_on_the_command_line_reads_the_same_on_the_dashboard(
        desk: tuple[TestClient, str]) -> None:
    client, url = desk
    # two hours before both the command's clock (the wall's) and the service's (NOW)
    learned = min(datetime.now(SHANGHAI), NOW) - timedelta(hours=2)
    code, _, err = await monitor(
        "incident", "open", "--title", "市卫健委交办：核实凤庆县人民医院产妇死亡情况",
        "--text", "请于今日17时前报送核实情况，联系人手机13912345678。",
        "--channel", "上级交办", "--at", learned.isoformat(), "--by", "值班员甲",
        "--db", url)
    assert code == 0, err
    assert await sign_in(client, "zhang") == 303
    shown = await (await client.get("/incidents/1")).text()
    assert "人工立案（上级交办，值班员甲）" in shown
    assert "139****5678" in shown
    assert "补录：值班员甲于" in shown  # entered long after the office learned of it
