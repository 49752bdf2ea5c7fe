"""The board and the incident page: Chinese, escaped, and the actions only for those who may."""

from __future__ import annotations

import re
from datetime import datetime

from aiohttp.test_utils import TestClient

from monitor.clock import SimClock
from monitor.incidents.engine import Changes
from monitor.records import Incident, IncidentStatus, TimelineEvent
from monitor.store import Store
from monitor.store.incidents import apply_changes, timeline_of
from monitor.web.pages import _event_detail
from tests.notify.test_ack_web import NOW
from tests.web.test_auth import csrf_of, sign_in

XSS = "<script>alert('x')</script><img src=x onerror=alert(1)>产妇死亡"


def retitle(url: str) -> None:
    store = Store(url)
    changes = Changes()
    changes.incidents[7] = Incident(7, IncidentStatus.OPEN, XSS, NOW, NOW, 1, "s",
                                    proposed_level="II", topics=("maternal_child",),
                                    region="凤庆县")
    store.transaction(lambda c: apply_changes(c, changes))
    store.close()


async def test_the_board_shows_incidents_as_text_and_needs_a_sign_in(
        signed: tuple[TestClient, SimClock, str]) -> None:
    client, _, url = signed
    retitle(url)
    first = await client.get("/board", allow_redirects=False)
    assert first.status == 303
    assert first.headers["Location"] == "/login"
    assert (await client.get("/api/board")).status == 401
    assert await sign_in(client, "wang") == 303
    page = await (await client.get("/board")).text()
    assert "事件看板" in page
    assert "<script>alert('x')" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "onerror=alert" not in page.replace("&lt;img src=x onerror=alert(1)&gt;", "")
    assert "妇幼健康与计划生育" in page
    assert "主用节点，负责采集" in page  # the only process leads
    rows = await (await client.get("/api/board")).json()
    assert [(r["id"], r["title"]) for r in rows] == [(7, XSS)]


async def test_only_a_duty_officer_gets_the_actions_and_they_need_the_csrf_token(
        signed: tuple[TestClient, SimClock, str]) -> None:
    client, _, url = signed
    assert await sign_in(client, "wang") == 303
    leader_view = await (await client.get("/incidents/7")).text()
    assert "确认收到" not in leader_view
    assert "时间线" in leader_view
    csrf = await csrf_of(client)
    refused = await client.post("/incidents/7/act", data={"csrf": csrf, "action": "ack"},
                                allow_redirects=False)
    assert refused.status == 403
    await client.post("/logout", data={"csrf": csrf}, allow_redirects=False)
    assert await sign_in(client, "zhang") == 303
    officer_view = await (await client.get("/incidents/7")).text()
    assert "确认收到" in officer_view
    token = re.search(r"name=csrf value='([^']+)'", officer_view)
    assert token is not None
    no_token = await client.post("/incidents/7/act", data={"action": "ack"},
                                 allow_redirects=False)
    assert no_token.status == 403
    done = await client.post("/incidents/7/act", data={"csrf": token.group(1), "action": "ack"},
                             allow_redirects=False)
    assert done.status == 303
    store = Store(url)
    try:
        acks = [e.actor for e in store.transaction(lambda c: timeline_of(c, 7))
                if e.type == "acknowledged"]
    finally:
        store.close()
    assert acks == ["值班员张"]


def test_the_chart_draws_hours_negativity_milestones_and_deadlines() -> None:
    from datetime import timedelta

    from monitor.records import Deadline, TimelineEvent
    from monitor.web.pages import chart

    items = [{"at": NOW + timedelta(minutes=m), "negative": neg}
             for m, neg in ((0, 0.9), (10, 0.8), (70, 0.2), (75, 0.4), (80, 0.0))]
    release = TimelineEvent(7, NOW + timedelta(minutes=65), "milestone_recorded", "甲",
                            {"kind": "authoritative_release"})
    due = Deadline(7, "release", "首次权威发布（5小时时限）", ("authoritative_release",), True,
                   NOW + timedelta(hours=5))
    svg = chart(items, [release], [due])
    assert svg.count("<rect") == 6  # hours 0 … 5, the last reaching the deadline
    assert "<title>2条</title>" in svg
    assert "<title>3条</title>" in svg
    assert "<title>权威信息发布</title>" in svg
    assert "stroke-dasharray" in svg
    assert "峰值3条" in svg


def test_a_backdated_entry_says_who_recorded_it_and_when() -> None:
    event = TimelineEvent(7, datetime.fromisoformat("2026-03-03T04:00:00+00:00"), "milestone_recorded",
                          "值班员甲", {"kind": "authoritative_release", "url": "https://w.example/1",
                                   "time": "2026-03-02T09:00:00+08:00", "backdated": True})
    shown = _event_detail(event)
    assert "补录：值班员甲于03-03 12:00记录，所记时间03-02 09:00" in shown
    on_time = TimelineEvent(7, event.at, "milestone_recorded", "值班员甲",
                            {"kind": "authoritative_release", "url": "https://w.example/1"})
    assert "补录" not in _event_detail(on_time)
