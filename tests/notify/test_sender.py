"""The outbox sender against local fake robots on the simulated clock: a burst to one robot,
a wrong secret, transport faults and the fallback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from monitor.clock import SimClock
from monitor.incidents.engine import Changes
from monitor.notify.routing import Routing, Rule
from monitor.notify.sender import Links, Sender
from monitor.notify.settings import ChannelsFile, DingTalk, Email, Sms, WeCom
from monitor.records import PlanMatch, Signal
from monitor.response.roster import load_roster
from monitor.store import Store
from monitor.store.deliveries import add_silence
from monitor.store.incidents import apply_changes, timeline_after
from monitor.store.response import add_outbox
from monitor.store.schema import deliveries, outbox
from monitor.store.signals import put_signals
from tests.incidents.conftest import START
from tests.notify.conftest import queue
from tests.notify.fakes import Fake, dingtalk_app, wecom_app

Serve = Callable[[web.Application], Awaitable[TestServer]]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"WECOM_KEY": "k-1", "DT_TOKEN": "t-1", "DT_SECRET": "SEC"}.items():
        monkeypatch.setenv(name, value)


def sender(store: Store, clock: SimClock, session: aiohttp.ClientSession,
           channels: list[Any], routes: list[str], admin: list[str] | None = None,
           fallback: dict[str, str] | None = None) -> Sender:
    return Sender(store, ChannelsFile(channels=channels, admin=admin or []),
                  Routing(rules=[Rule(name="all", channels=routes)], fallback_after=2,
                          fallback=fallback or {}),
                  load_roster(), clock, session,
                  Links(lambda i: f"https://y.example/incidents/{i}", lambda row, ch: None))


def statuses(store: Store) -> dict[str, int]:
    rows = store.transaction(lambda c: c.execute(select(outbox.c.status)).scalars().all())
    return {s: rows.count(s) for s in set(rows)}


async def drain(s: Sender, clock: SimClock, minutes: float, step: float = 5) -> None:
    for _ in range(int(minutes * 60 / step)):
        await s.run_once()
        clock.advance(step)


async def test_a_burst_to_one_robot_is_bundled_never_lost_and_never_over_the_limit(
        aiohttp_server: Callable[..., Awaitable[TestServer]], store: Store,
        session: aiohttp.ClientSession) -> None:
    clock = SimClock(START)
    fake = Fake(now=lambda: clock.now().timestamp())
    server = await aiohttp_server(wecom_app(fake, key="k-1"))
    robot = WeCom(name="duty-wecom", type="wecom", key_env="WECOM_KEY",
                  base_url=str(server.make_url("")).rstrip("/"))
    s = sender(store, clock, session, [robot], ["duty-wecom"])
    queue(store, 100)
    await drain(s, clock, minutes=3)
    assert statuses(store) == {"sent": 100}
    assert fake.exceeded == 0
    # every minute the robot got at most 20 messages
    sent = sorted(fake.times)
    assert all(sum(1 for t in sent if a <= t < a + 60) <= 20 for a in sent)
    contents = [m["markdown"]["content"] for m in fake.received]
    assert len(contents) < 100
    assert any("舆情提醒汇总" in c for c in contents)
    for n in range(100):
        assert sum(f"事件{n:03d}" in c for c in contents) == 1, n
    assert all(len(c.encode()) <= 4096 for c in contents)


async def test_a_wrong_secret_shows_on_the_outbox_and_timeline_and_reaches_the_admins(
        aiohttp_server: Callable[..., Awaitable[TestServer]], store: Store,
        session: aiohttp.ClientSession) -> None:
    clock = SimClock(START)
    ding, wecom = Fake(now=lambda: clock.now().timestamp()), Fake()
    ding_server = await aiohttp_server(dingtalk_app(ding, token="t-1", secret="OTHER"))
    wecom_server = await aiohttp_server(wecom_app(wecom, key="k-1"))
    channels = [DingTalk(name="duty-dingtalk", type="dingtalk", token_env="DT_TOKEN",
                         secret_env="DT_SECRET",
                         base_url=str(ding_server.make_url("")).rstrip("/")),
                WeCom(name="ops-wecom", type="wecom", key_env="WECOM_KEY",
                      base_url=str(wecom_server.make_url("")).rstrip("/"))]
    s = sender(store, clock, session, channels, ["duty-dingtalk"],
               admin=["duty-dingtalk", "ops-wecom"])
    queue(store, 1)
    await drain(s, clock, minutes=0.5)
    assert ding.received == []
    assert len(ding.replies) == 1  # a configuration fault is not retried
    rows = store.transaction(lambda c: c.execute(
        select(outbox.c.kind, outbox.c.status, outbox.c.last_error)).all())
    assert rows[0][:2] == ("reminder", "dead")
    assert "sign not match" in rows[0][2]
    assert rows[1][:2] == ("delivery_fault", "sent")
    failed = [e for e in store.transaction(timeline_after) if e.type == "delivery_failed"]
    assert [(e.data["channel"], e.data["fault"]) for e in failed] == [("duty-dingtalk", True)]
    told = wecom.received[0]["markdown"]["content"]
    assert "duty-dingtalk" in told
    assert "sign not match" in told


async def test_transport_faults_are_retried_and_repeated_failures_fall_back(
        aiohttp_server: Callable[..., Awaitable[TestServer]], store: Store,
        session: aiohttp.ClientSession) -> None:
    clock = SimClock(START)
    broken, spare = Fake(), Fake()
    broken.faults.extend(["500", "reset", "500", "500", "500"])
    first = await aiohttp_server(wecom_app(broken, key="k-1"))
    second = await aiohttp_server(wecom_app(spare, key="k-1"))
    channels = [WeCom(name="a", type="wecom", key_env="WECOM_KEY", timeout=1,
                      base_url=str(first.make_url("")).rstrip("/")),
                WeCom(name="b", type="wecom", key_env="WECOM_KEY",
                      base_url=str(second.make_url("")).rstrip("/"))]
    s = sender(store, clock, session, channels, ["a"], fallback={"a": "b"})
    queue(store, 1)
    await drain(s, clock, minutes=20, step=15)
    got = store.transaction(lambda c: c.execute(
        select(deliveries.c.channel, deliveries.c.status, deliveries.c.attempts)
        .order_by(deliveries.c.id)).all())
    # two failures on "a" bring in "b", which delivers; "a" keeps trying and gets through
    # once its faults are over: at least once, never lost
    assert got[1] == ("b", "sent", 0)
    assert got[0][1] == "sent"
    assert got[0][2] == 5
    assert len(spare.received) == 1
    assert statuses(store) == {"sent": 1}
    assert json.loads(json.dumps(spare.received[0]))["markdown"]["content"].startswith(
        "**处置时限提醒")


async def test_quiet_hours_hold_low_levels_on_their_channels_and_never_major_ones(
        aiohttp_server: Callable[..., Awaitable[TestServer]], store: Store,
        session: aiohttp.ClientSession) -> None:
    night = START.replace(hour=23)  # 23:00 Beijing time
    clock = SimClock(night)
    sms_seen: list[str] = []

    async def gateway(request: web.Request) -> web.Response:
        sms_seen.append((await request.json())["content"])
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/send", gateway)
    server = await aiohttp_server(app)
    channels = [Sms(name="sms", type="sms", url=f"{str(server.make_url('')).rstrip('/')}/send")]
    s = Sender(store, ChannelsFile(channels=channels),
               Routing.model_validate({"rules": [{"name": "all", "channels": ["sms"]}],
                                       "quiet_hours": {"from": "22:30", "to": "07:30",
                                                       "levels": ["III", "IV"],
                                                       "channels": ["sms"]}}),
               load_roster(), clock, session, Links(lambda i: f"https://y.example/{i}",
                                                    lambda row, ch: None))
    queue(store, 1, level="IV", phone=True)
    queue(store, 1, level="II", phone=True, first=1)
    await s.run_once()
    assert len(sms_seen) == 1
    assert "事件001" in sms_seen[0]  # level II goes at once
    clock.advance(8 * 3600)  # 07:00: still quiet
    await s.run_once()
    assert len(sms_seen) == 1
    clock.advance(31 * 60)  # 07:31
    await s.run_once()
    assert len(sms_seen) == 2
    assert "事件000" in sms_seen[1]


async def test_a_silence_is_audited_and_does_not_hide_a_missed_hard_deadline(
        aiohttp_server: Callable[..., Awaitable[TestServer]], store: Store,
        session: aiohttp.ClientSession) -> None:
    clock = SimClock(START)
    fake = Fake(now=lambda: clock.now().timestamp())
    server = await aiohttp_server(wecom_app(fake, key="k-1"))
    robot = WeCom(name="duty-wecom", type="wecom", key_env="WECOM_KEY",
                  base_url=str(server.make_url("")).rstrip("/"))
    s = sender(store, clock, session, [robot], ["duty-wecom"])
    store.transaction(lambda c: add_silence(c, 1, "值班员甲", "已在处置，暂停提醒", START,
                                            START + timedelta(hours=2)))
    queue(store, 1, kind="reminder")
    queue(store, 1, kind="escalated", first=1, data={"reason": "deadline_missed"})
    await drain(s, clock, minutes=0.5)
    assert statuses(store) == {"silenced": 1, "sent": 1}
    assert "事件001" in fake.received[0]["markdown"]["content"]
    silenced = [e for e in store.transaction(timeline_after) if e.type == "silenced"]
    assert [(e.data["owner"], e.data["reason"], e.data["for"]) for e in silenced] == [
        ("值班员甲", "已在处置，暂停提醒", "reminder")]


async def test_rules_route_by_the_watch_plans_the_incident_hit(
        aiohttp_server: Callable[..., Awaitable[TestServer]], store: Store,
        session: aiohttp.ClientSession) -> None:
    clock = SimClock(START)
    watched, other = Fake(), Fake()
    first = await aiohttp_server(wecom_app(watched, key="k-1"))
    second = await aiohttp_server(wecom_app(other, key="k-1"))
    channels = [WeCom(name=name, type="wecom", key_env="WECOM_KEY",
                      base_url=str(server.make_url("")).rstrip("/"))
                for name, server in (("violence", first), ("duty", second))]
    routing = Routing.model_validate({"rules": [
        {"name": "p", "match": {"plans": ["涉医暴力"]}, "channels": ["violence"]},
        {"name": "rest", "channels": ["duty"]}]})
    s = Sender(store, ChannelsFile(channels=channels), routing, load_roster(), clock, session,
               Links(lambda i: f"https://y.example/{i}", lambda row, ch: None))
    queue(store, 1)
    await s.run_once()
    assert (len(watched.received), len(other.received)) == (0, 1)
    changes = Changes()
    changes.incident_items.append((1, 1, START))  # the incident's item hit the plan
    store.transaction(lambda c: apply_changes(c, changes))
    store.transaction(lambda c: put_signals(c, [Signal(
        True, 0.9, (), 0.8, (PlanMatch("涉医暴力", ("医生", "殴打")),), item_id=1)], START))
    queue(store, 1, first=1)
    await s.run_once()
    assert (len(watched.received), len(other.received)) == (1, 1)


async def test_a_fault_reported_by_e_mail_reaches_the_duty_officer(
        aiohttp_server: Callable[..., Awaitable[TestServer]], store: Store,
        session: aiohttp.ClientSession, smtp: tuple[int, list[EmailMessage]]) -> None:
    port, got = smtp
    clock = SimClock(START)
    ding = Fake(now=lambda: clock.now().timestamp())
    ding_server = await aiohttp_server(dingtalk_app(ding, token="t-1", secret="OTHER"))
    channels = [DingTalk(name="duty-dingtalk", type="dingtalk", token_env="DT_TOKEN",
                         secret_env="DT_SECRET",
                         base_url=str(ding_server.make_url("")).rstrip("/")),
                Email(name="mail", type="email", host="127.0.0.1", port=port,
                      security="none", sender="yuqing@wjw.example.org")]
    # the shipped order: mail first, then the robot whose secret is wrong
    s = sender(store, clock, session, channels, ["duty-dingtalk"],
               admin=["mail", "duty-dingtalk"])
    queue(store, 1)
    await drain(s, clock, minutes=0.5)
    rows = store.transaction(lambda c: c.execute(
        select(outbox.c.kind, outbox.c.status, outbox.c.last_error)).all())
    assert ("delivery_fault", "sent", None) in rows
    [mail] = got
    on_duty = load_roster().on_duty("duty_officer", START)[0]
    assert mail["To"] == on_duty.email
    text = mail.get_body(("plain",))
    assert text is not None
    assert "duty-dingtalk" in text.get_content()


async def test_a_digest_mentions_its_people_and_carries_the_acknowledgement_link(
        aiohttp_server: Callable[..., Awaitable[TestServer]], store: Store,
        session: aiohttp.ClientSession) -> None:
    clock = SimClock(START)
    fake = Fake(now=lambda: clock.now().timestamp())
    server = await aiohttp_server(wecom_app(fake, key="k-1"))
    robot = WeCom(name="duty-wecom", type="wecom", key_env="WECOM_KEY",
                  base_url=str(server.make_url("")).rstrip("/"))
    s = Sender(store, ChannelsFile(channels=[robot]),
               Routing(rules=[Rule(name="all", channels=["duty-wecom"])]), load_roster(), clock,
               session, Links(lambda i: f"https://y.example/incidents/{i}",
                              lambda row, ch: f"https://y.example/ack/{row['id']}"))
    queue(store, 60)
    await drain(s, clock, minutes=1)
    digests = [m["markdown"]["content"] for m in fake.received
               if "舆情提醒汇总" in m["markdown"]["content"]]
    assert digests
    for content in digests:
        assert "<@ZhiBanJia>" in content  # the person the reminders are for
        assert "[确认#1](https://y.example/ack/" in content


async def test_one_reminder_to_two_people_is_one_group_message_and_two_e_mails(
        aiohttp_server: Callable[..., Awaitable[TestServer]], store: Store,
        session: aiohttp.ClientSession, smtp: tuple[int, list[EmailMessage]]) -> None:
    port, got = smtp
    clock = SimClock(START)
    fake = Fake(now=lambda: clock.now().timestamp())
    server = await aiohttp_server(wecom_app(fake, key="k-1"))
    channels = [WeCom(name="duty-wecom", type="wecom", key_env="WECOM_KEY",
                      base_url=str(server.make_url("")).rstrip("/")),
                Email(name="mail", type="email", host="127.0.0.1", port=port,
                      security="none", sender="yuqing@wjw.example.org")]
    s = Sender(store, ChannelsFile(channels=channels),
               Routing(rules=[Rule(name="all", channels=["duty-wecom", "mail"])]),
               load_roster(), clock, session,
               Links(lambda i: f"https://y.example/incidents/{i}",
                     lambda row, ch: f"https://y.example/ack/{row['person']}"))
    # one due action telling both officers on duty, as the clocks queue it
    people = {"duty-a": ("ZhiBanJia", "duty-a@wjw.example.org"),
              "duty-b": ("ZhiBanYi", "duty-b@wjw.example.org")}
    store.transaction(lambda c: add_outbox(c, [{
        "key": f"due:7:reminder:duty_officer:{person}", "incident_id": 1, "created_at": START,
        "kind": "reminder", "person": person, "role": "duty_officer",
        "channels": {"wecom": wecom, "email": email},
        "data": {"title": "凤庆县人民医院产妇死亡", "level": "II",
                 "label": "首次权威发布（5小时时限）",
                 "deadline_due": (START + timedelta(hours=1)).isoformat()},
        "next_attempt_at": START} for person, (wecom, email) in people.items()]))
    await drain(s, clock, minutes=0.5)
    assert statuses(store) == {"sent": 2}
    [posted] = [m["markdown"]["content"] for m in fake.received]
    assert "<@ZhiBanJia>" in posted
    assert "<@ZhiBanYi>" in posted
    assert "舆情提醒汇总" not in posted  # one alert, told as itself
    assert "确认收到（值班员甲）](https://y.example/ack/duty-a)" in posted
    assert "确认收到（值班员乙）](https://y.example/ack/duty-b)" in posted
    # e-mail is personal: one each
    assert sorted(m["To"] for m in got) == sorted(e for _, e in people.values())
