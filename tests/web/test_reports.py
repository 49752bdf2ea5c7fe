"""Evaluations and reports on the dashboard: who may read them, who may decide, the files each
format gives, and feed text that stays text."""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import docx
from aiohttp.test_utils import TestClient

from monitor.app import build_app
from monitor.clock import SimClock
from monitor.config import load_settings
from monitor.evaluate.reports import usual_periods
from monitor.store import Store
from monitor.store.incidents import timeline_of
from monitor.store.reports import claim_send, record_send
from tests.web.test_auth import sign_in

Client = Callable[..., Awaitable[TestClient]]


async def client_for(demo_db: tuple[str, datetime], tmp_path: Path, aiohttp_client: Client,
                     name: str) -> tuple[TestClient, str, str]:
    url, now = demo_db
    copy = tmp_path / "m.db"
    if not copy.exists():
        shutil.copy(url.removeprefix("sqlite:///"), copy)
    db = f"sqlite:///{copy}"
    app = build_app(load_settings(database=db), clock=SimClock(now), poll=False,
                    send_alerts=False)
    client = await aiohttp_client(app)
    assert await sign_in(client, name) == 303
    page = await (await client.get("/board")).text()
    token = re.search(r"name=csrf value='([^']+)'", page)
    assert token is not None
    return client, token.group(1), db


async def test_duty_officers_do_not_read_reports_leaders_do(
        demo_db: tuple[str, datetime], tmp_path: Path, aiohttp_client: Client) -> None:
    officer, _, _ = await client_for(demo_db, tmp_path, aiohttp_client, "zhang")
    assert "评估与报告" not in await (await officer.get("/board")).text()
    assert (await officer.get("/reports")).status == 403
    assert (await officer.get("/incidents/1/evaluation")).status == 403

    leader, csrf, db = await client_for(demo_db, tmp_path, aiohttp_client, "wang")
    index = await (await leader.get("/reports")).text()
    assert "日报发送记录" in index
    assert "暂无" in index
    # a daily report that a robot refused shows with its error
    store, now = Store(db), demo_db[1]
    try:
        store.transaction(lambda c: claim_send(c, "daily", "2026-03-02", "robot:duty-wecom",
                                               now, now, 5))
        store.transaction(lambda c: record_send(c, "daily", "2026-03-02", "robot:duty-wecom",
                                                now, error="errcode 93000: invalid webhook url",
                                                retry_at=now + timedelta(minutes=10)))
    finally:
        store.close()
    index = await (await leader.get("/reports")).text()
    assert "robot:duty-wecom" in index
    assert "发送失败" in index
    assert "errcode 93000" in index
    assert "昨日日报" in index
    assert "上季度季报" in index
    day = demo_db[1].date()
    reply = await leader.get("/reports/period", params={"from": str(day - timedelta(days=1)),
                                                        "to": str(day), "format": "docx"})
    assert reply.status == 200
    assert "attachment" in reply.headers["Content-Disposition"]
    document = docx.Document(io.BytesIO(await reply.read()))
    assert document.paragraphs[0].text == "卫生健康舆情报告"
    assert document.tables
    html = await (await leader.get("/incidents/1/report")).text()
    assert "舆情事件专报" in html
    assert "<script>window.__xss" not in html
    assert "&lt;script&gt;" in html
    md = await leader.get("/incidents/1/report", params={"format": "md"})
    assert md.headers["Content-Type"].startswith("text/markdown")
    bad = await leader.get("/reports/period", params={"from": "2026-03-05", "to": "2026-03-01"})
    assert bad.status == 400
    # a leader reads the evaluation but does not decide
    page = await (await leader.get("/incidents/1/evaluation")).text()
    assert "回应效果评分" in page
    assert "问责建议由考核人员认定" in page
    refused = await leader.post("/incidents/1/evaluation", data={
        "csrf": csrf, "ground": "late_report", "decision": "changed", "measure": "criticism",
        "reason": "测试"}, allow_redirects=False)
    assert refused.status == 403


async def test_an_evaluator_decides_with_a_reason(
        demo_db: tuple[str, datetime], tmp_path: Path, aiohttp_client: Client) -> None:
    officer, token, _ = await client_for(demo_db, tmp_path, aiohttp_client, "zhang")
    closed = await officer.post("/incidents/1/act", data={"csrf": token, "action": "close"},
                                allow_redirects=False)
    assert closed.status == 303
    client, csrf, db = await client_for(demo_db, tmp_path, aiohttp_client, "li")
    # the closed site collapse waits for its evaluation
    worklist = await (await client.get("/reports")).text()
    assert "href=/incidents/1/evaluation>#1 " in worklist
    page = await (await client.get("/incidents/1/evaluation")).text()
    assert "提交认定" in page
    missing = await client.post("/incidents/1/evaluation", data={
        "csrf": csrf, "ground": "poor_handling", "decision": "changed",
        "measure": "criticism", "reason": ""}, allow_redirects=False)
    assert missing.status == 409
    done = await client.post("/incidents/1/evaluation", data={
        "csrf": csrf, "ground": "poor_handling", "decision": "changed",
        "measure": "criticism", "reason": "未及时发布，情节较轻"}, allow_redirects=False)
    assert done.status == 303
    recorded = await client.post("/incidents/1/evaluation", data={
        "csrf": csrf, "decision": "record"}, allow_redirects=False)
    assert recorded.status == 303
    worklist = await (await client.get("/reports")).text()
    assert "href=/incidents/1/evaluation" not in worklist  # evaluated: off the list
    store = Store(db)
    try:
        events = store.transaction(lambda c: timeline_of(c, 1))
    finally:
        store.close()
    decided = [e for e in events if e.type == "finding_decided"]
    assert [(e.actor, e.data["measure"], e.data["reason"]) for e in decided] == [
        ("考核员李", "criticism", "未及时发布，情节较轻")]
    assert any(e.type == "evaluated" and e.actor == "考核员李" for e in events)
    page = await (await client.get("/incidents/1/evaluation")).text()
    assert "变更：通报批评" in page


def test_the_usual_periods() -> None:
    periods = {name: (a, b) for name, a, b in usual_periods(date(2026, 5, 13))}  # a Wednesday
    assert periods["昨日日报"] == (date(2026, 5, 12), date(2026, 5, 12))
    assert periods["上周周报"] == (date(2026, 5, 4), date(2026, 5, 10))
    assert periods["上月月报"] == (date(2026, 4, 1), date(2026, 4, 30))
    assert periods["上季度季报"] == (date(2026, 1, 1), date(2026, 3, 31))
    assert {name: (a, b) for name, a, b in usual_periods(date(2026, 1, 5))}["上季度季报"] == (
        date(2025, 10, 1), date(2025, 12, 31))
