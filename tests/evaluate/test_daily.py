"""The scheduled daily report, with real parts: a replayed incident in SQLite, a real SMTP
server on loopback (aiosmtpd) and a fake WeCom robot that keeps the platform's rules. The
clock is simulated: each test moves it and calls ``run_due``, as the scheduler would."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiohttp
import docx
import pytest
from aiohttp.test_utils import TestServer

from monitor.app import build_app
from monitor.clock import SHANGHAI, SimClock
from monitor.config import load_settings
from monitor.errors import ConfigError
from monitor.evaluate.daily import MAX_ATTEMPTS, DailyReports, daily_targets
from monitor.evaluate.reports import context_for
from monitor.evaluate.schedule import load_reports
from monitor.notify.settings import ChannelsFile, Email, WeCom, load_channels
from monitor.response.roster import load_roster
from monitor.store import Store
from monitor.store.reports import report_sends_of
from tests.evaluate.conftest import FIRST, OPENED, Replayed, dispute
from tests.incidents.conftest import action, item
from tests.notify.fakes import Fake, wecom_app

PHONE = "13812345678"
PUBLIC = "https://yuqing.wjw.example.org"
REPORTS = """\
enabled: true
daily:
  at: "08:30"
  email: [lead-a, deputy]
  robots: [duty-wecom]
"""


def scenario() -> list[dict[str, Any]]:
    """The dispute on 2 March: acknowledged, confirmed as level II, a note with a family's
    phone number, the authoritative release four hours in."""
    return dispute(
        action(OPENED + 10, "ack", FIRST), action(OPENED + 11, "confirm", FIRST, level="II"),
        action(OPENED + 30, "note", FIRST, text=f"患者家属来电，电话{PHONE}，要求医院公开病历"),
        action(OPENED + 240, "milestone", FIRST, kind="authoritative_release",
               url="https://wjw.example/1"),
        end_hours=24)


@pytest.fixture
async def robot(aiohttp_server: Callable[..., Awaitable[TestServer]],
                monkeypatch: pytest.MonkeyPatch) -> tuple[str, Fake]:
    monkeypatch.setenv("TEST_WECOM_KEY", "k-1")
    fake = Fake()
    server = await aiohttp_server(wecom_app(fake, key="k-1"))
    return str(server.make_url("")).rstrip("/"), fake


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@dataclass
class Rig:
    clock: SimClock
    mails: list[EmailMessage]
    robot: Fake
    make: Callable[[], DailyReports]  # a fresh service on the same store: a restart

    async def run(self) -> datetime | None:
        return await self.make().run_due()


@pytest.fixture
def rig(tmp_path: Path, smtp: tuple[int, list[EmailMessage]], robot: tuple[str, Fake],
        session: aiohttp.ClientSession) -> Callable[[Store, datetime], Rig]:
    port, mails = smtp
    url, fake = robot
    channels = ChannelsFile(channels=[
        Email(name="mail", type="email", host="127.0.0.1", port=port, security="none",
              sender="yuqing@wjw.example.org"),
        WeCom(name="duty-wecom", type="wecom", key_env="TEST_WECOM_KEY", base_url=url)])
    path = tmp_path / "reports.yaml"
    path.write_text(REPORTS, encoding="utf-8")
    roster = load_roster()
    reports = load_reports(path, roster, channels)

    def build(store: Store, now: datetime) -> Rig:
        clock = SimClock(now)

        def make() -> DailyReports:
            return DailyReports(store, reports.daily.at,
                                daily_targets(reports, roster, channels, session, clock),
                                clock, context_for(roster), PUBLIC)
        return Rig(clock, mails, fake, make)

    return build


def beijing(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def parts(mail: EmailMessage) -> tuple[str, str, list[tuple[str, bytes]]]:
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None
    assert html is not None
    files = [(str(a.get_filename()), a.get_content()) for a in mail.iter_attachments()]
    return text.get_content(), html.get_content(), files


async def test_the_daily_report_goes_out_once_after_its_time(
        replayed: Replayed, rig: Callable[[Store, datetime], Rig]) -> None:
    store = await replayed(scenario())
    r = rig(store, beijing("2026-03-03T08:29"))
    daily = r.make()
    # before 08:30 the report of 2 March is not due; 1 March's would be, but the service
    # was not yet watching then, so it has nothing honest to say about that day
    assert await daily.run_due() is None
    assert r.mails == []
    assert r.robot.received == []

    r.clock.advance(2 * 60)
    assert await daily.run_due() is None
    assert sorted(m["To"] for m in r.mails) == ["deputy@wjw.example.org",
                                                "lead-a@wjw.example.org"]
    mail = r.mails[0]
    assert mail["Subject"] == "卫生健康舆情日报（3月2日）"
    text, html, files = parts(mail)
    assert "2026年03月02日新发现舆情事件1起（Ⅱ级1起）" in text
    assert "完整日报见附件" in text
    assert f"{PUBLIC}/reports/period?from=2026-03-02&to=2026-03-02" in text
    assert "<h1>卫生健康舆情日报</h1>" in html
    assert "凤庆县人民医院" in html
    assert "首次权威发布（5小时时限）" in html  # the on-time table
    assert PHONE not in html  # de-identified before it leaves
    assert "138****5678" in html
    [(filename, data)] = files
    assert filename == "卫生健康舆情日报-2026-03-02.docx"
    word = docx.Document(io.BytesIO(data))
    assert word.paragraphs[0].text == "卫生健康舆情日报"
    assert any("凤庆县人民医院" in cell.text for t in word.tables for row in t.rows
               for cell in row.cells)

    [posted] = r.robot.received
    content = posted["markdown"]["content"]
    assert content.startswith("**卫生健康舆情日报（3月2日）**")
    assert "2026年03月02日新发现舆情事件1起" in content
    assert "/reports/period?from=2026-03-02&to=2026-03-02" in content
    sends = store.transaction(lambda c: report_sends_of(c, "daily", "2026-03-02"))
    assert {(s.target, s.status, s.attempts) for s in sends} == {
        ("email:lead-a", "sent", 1), ("email:deputy", "sent", 1),
        ("robot:duty-wecom", "sent", 1)}

    # again, and after a restart the same day: nothing more
    assert await daily.run_due() is None
    r.clock.advance(3600)
    assert await r.run() is None
    assert len(r.mails) == 2
    assert len(r.robot.received) == 1


async def test_after_downtime_only_the_latest_missed_report_goes_once(
        replayed: Replayed, rig: Callable[[Store, datetime], Rig]) -> None:
    # watching until the morning of 3 March, when an ordinary item was the last collected
    quiet = item(25 * 60, "weather", "https://w.example/1", "临沧今日多云转晴", "气温12至24度")
    store = await replayed([*scenario()[:-1], quiet, scenario()[-1]])
    # down from then until 07:00 on 5 March: 3 March's report was due at 08:30 on the
    # 4th and is the one sent; 2 March's is older and not sent, 4 March's is not due yet
    r = rig(store, beijing("2026-03-05T07:00"))
    assert await r.run() is None
    assert {m["Subject"] for m in r.mails} == {"卫生健康舆情日报（3月3日）"}
    assert len(r.mails) == 2
    assert len(r.robot.received) == 1
    assert "2026年03月03日新发现舆情事件0起" in parts(r.mails[0])[0]
    assert await r.run() is None  # restarted again: nothing twice
    assert len(r.mails) == 2
    assert len(r.robot.received) == 1
    assert store.transaction(lambda c: report_sends_of(c, "daily", "2026-03-02")) == []
    # at 08:30 the report of the 4th would be due, but the service collected nothing that
    # day (it was down): an empty report would say nothing happened, so none goes
    r.clock.advance(90 * 60)
    assert await r.run() is None
    assert len(r.mails) == 2
    assert store.transaction(lambda c: report_sends_of(c, "daily", "2026-03-04")) == []


async def test_a_failing_robot_is_retried_without_mailing_again(
        replayed: Replayed, rig: Callable[[Store, datetime], Rig],
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    store = await replayed(scenario())
    monkeypatch.setenv("TEST_WECOM_KEY", "a-revoked-key")  # the robot answers errcode 93000
    r = rig(store, beijing("2026-03-03T08:30"))
    daily = r.make()
    with caplog.at_level(logging.WARNING, logger="monitor.evaluate.daily"):
        retry = await daily.run_due()
    assert retry == beijing("2026-03-03T08:40")
    assert len(r.mails) == 2
    assert r.robot.received == []
    assert r.robot.replies[0]["errcode"] == 93000
    sends = {s.target: s for s in store.transaction(
        lambda c: report_sends_of(c, "daily", "2026-03-02"))}
    failed = sends["robot:duty-wecom"]
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert "93000" in str(failed.last_error)
    assert sends["email:lead-a"].status == sends["email:deputy"].status == "sent"
    logged = caplog.records[-1].getMessage()
    assert "could not be sent to robot:duty-wecom (attempt 1 of 5)" in logged
    assert "93000" in logged
    assert "Trying again at 08:40" in logged
    assert "check channel 'duty-wecom' in channels.yaml" in logged

    assert await daily.run_due() == retry  # not before its time
    assert len(r.robot.replies) == 1

    monkeypatch.setenv("TEST_WECOM_KEY", "k-1")  # the operator fixed the key
    r.clock.advance(10 * 60)
    assert await daily.run_due() is None
    [posted] = r.robot.received
    assert "卫生健康舆情日报（3月2日）" in posted["markdown"]["content"]
    assert len(r.mails) == 2  # the e-mails are not sent again
    sent = next(s for s in store.transaction(lambda c: report_sends_of(c, "daily", "2026-03-02"))
                if s.target == "robot:duty-wecom")
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 2, None)


async def test_a_target_that_keeps_failing_is_given_up(
        replayed: Replayed, rig: Callable[[Store, datetime], Rig],
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    store = await replayed(scenario())
    monkeypatch.setenv("TEST_WECOM_KEY", "a-revoked-key")
    r = rig(store, beijing("2026-03-03T09:00"))
    daily = r.make()
    for _ in range(MAX_ATTEMPTS - 1):
        assert await daily.run_due() is not None
        r.clock.advance(10 * 60)
    with caplog.at_level(logging.ERROR, logger="monitor.evaluate.daily"):
        assert await daily.run_due() is None  # the last attempt: nothing left to try
    assert len(r.robot.replies) == MAX_ATTEMPTS
    assert len(r.mails) == 2
    logged = caplog.records[-1].getMessage()
    assert f"after {MAX_ATTEMPTS} attempts, giving up" in logged
    assert "monitor report period --from 2026-03-02 --to 2026-03-02" in logged
    r.clock.advance(3600)
    assert await daily.run_due() is None
    assert len(r.robot.replies) == MAX_ATTEMPTS


def test_a_reports_file_naming_unknown_people_or_channels_stops_the_start(
        tmp_path: Path) -> None:
    bad = tmp_path / "reports.yaml"
    bad.write_text("daily:\n  at: \"08:30\"\n  email: [lead-a, nobody]\n"
                   "  robots: [duty-wecom, mail, no-such-robot]\n", encoding="utf-8")
    settings = replace(load_settings(database=f"sqlite:///{tmp_path / 'm.db'}"),
                       reports_path=bad)
    with pytest.raises(ConfigError) as caught:
        build_app(settings, poll=False, send_alerts=False)
    first, mail, robot = str(caught.value).splitlines()
    assert first.startswith(f"{bad}:3: daily.email: no person 'nobody' in the roster (known: "
                            "duty-a, ")
    assert first.endswith("; use an id from roster.yaml or add the person there")
    assert mail == (f"{bad}:4: daily.robots: 'mail' is an e-mail channel; list the people to "
                    "mail under daily.email instead")
    assert robot.startswith(f"{bad}:4: daily.robots: no channel 'no-such-robot' in the "
                            "channels file (known: duty-wecom, ")
    assert robot.endswith("; use a channel name from channels.yaml or add the channel there")

    bad.write_text("daily:\n  at: 8:30\n  emails: [lead-a]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        build_app(settings, poll=False, send_alerts=False)
    message = str(caught.value)
    assert f"{bad}:2: daily.at: Value error, a time of day in quotes, such as \"08:30\"" in message
    assert f"{bad}:3: unknown key 'emails'; did you mean 'email'?" in message


def test_the_bundled_reports_file_is_valid() -> None:
    settings = load_settings()
    reports = load_reports(settings.reports_path, load_roster(settings.roster_path),
                           load_channels(settings.channels_path))
    assert reports.enabled
    assert reports.daily.email
    assert reports.daily.robots
