"""The scheduled daily report (日报): every day at the configured time (Beijing time) the report
of the day before goes by e-mail to the people of alerts/reports.yaml (the HTML report as the
body, a short summary as the text part, the DOCX attached) and as a short summary to its robot
channels.

The store is the truth, as for the alerts: each target is claimed and recorded in
``report_sends``, and APScheduler only wakes the service. So a restart after downtime sends
the latest missed report once (never twice, never a flood of older days, and none for a day
on which it collected nothing: it was not watching), and a target
that failed is tried again ten minutes later while the others have long gone out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial

import aiohttp
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Connection

from monitor.clock import SHANGHAI, Clock, WallClock
from monitor.evaluate.formats import to_docx, to_html
from monitor.evaluate.reports import (
    Context,
    local_span,
    period_assessments,
    period_document,
    period_summary,
)
from monitor.evaluate.schedule import ReportsFile, mail_settings
from monitor.notify.channels import Channel, Message, Outcome, Recipient, make_channel
from monitor.notify.settings import ChannelsFile
from monitor.response.roster import Roster
from monitor.store import Store
from monitor.store.reports import (
    claim_send,
    collected_during,
    next_attempt,
    record_send,
    report_sends_of,
)

log = logging.getLogger(__name__)
KIND = "daily"
MAX_ATTEMPTS = 5
RETRY = timedelta(minutes=10)
# longer than any one send may take, so a claim that runs out means its sender died
CLAIM = timedelta(minutes=10)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


# --- where the report goes --------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    key: str  # email:<person> or robot:<channel>, as report_sends has it
    channel: Channel
    to: Recipient | None  # e-mail: the person; robots post to their group
    hint: str  # what to check when it keeps failing


def daily_targets(reports: ReportsFile, roster: Roster, channels: ChannelsFile,
                  session: aiohttp.ClientSession, clock: Clock) -> list[Target]:
    """The targets of a file that ``load_reports`` accepted."""
    daily = reports.daily
    targets = []
    if daily.email:
        mail = mail_settings(reports, channels)
        mailer = make_channel(mail, session, clock)
        people = [p for pid in dict.fromkeys(daily.email) if (p := roster.person(pid))]
        for person in people:
            targets.append(Target(
                f"email:{person.id}", mailer, Recipient(person.name, email=person.email),
                f"check e-mail channel {mail.name!r} in channels.yaml (host, port, security, "
                f"the password's environment variable) and {person.id}'s address in "
                "roster.yaml"))
    for name in dict.fromkeys(daily.robots):
        targets.append(Target(
            f"robot:{name}", make_channel(channels.get(name), session, clock), None,
            f"check channel {name!r} in channels.yaml (its key or token and secret "
            "environment variables, its keyword rule) and that the robot is still in its group"))
    return targets


# --- the report and its sending ---------------------------------------------------------------


def due_day(now: datetime, at: time) -> date:
    """The day whose report is the most recent one due at ``now``: yesterday's once today's
    time has come, else the day before yesterday's."""
    local = now.astimezone(SHANGHAI)
    today = local.date()
    passed = local >= datetime.combine(today, at, SHANGHAI)
    return today - timedelta(days=1 if passed else 2)


@dataclass(frozen=True)
class DailyReport:
    day: date
    lines: tuple[str, ...]  # the summary
    links: tuple[tuple[str, str], ...]
    html: str
    docx: bytes

    @property
    def title(self) -> str:
        return f"卫生健康舆情日报（{self.day.month}月{self.day.day}日）"

    def message(self, to: Recipient | None) -> Message:
        if to is None:  # a robot: the summary, which fits its size limit
            return Message(self.title, self.lines, self.links)
        return Message(self.title, (*self.lines, "完整日报见附件（Word 文档）。"), self.links, to,
                       html=self.html,
                       attachments=((f"卫生健康舆情日报-{self.day.isoformat()}.docx", DOCX,
                                     self.docx),))


class DailyReports:
    """Sends the daily report when it is due. ``run`` is the service loop; tests and the
    simulated clock call ``run_due`` after moving the clock."""

    def __init__(self, store: Store, at: time, targets: list[Target], clock: Clock,
                 context: Callable[[datetime], Context], public_url: str | None = None) -> None:
        self.store, self.at, self.targets, self.clock = store, at, targets, clock
        self.context = context
        self.public_url = public_url.rstrip("/") if public_url else None
        self._lock = asyncio.Lock()  # the cron job and a retry may wake us together
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def _alarm(self) -> None:
        # a coroutine, so that APScheduler runs it on the event loop: a plain function would
        # run on a worker thread, where setting an asyncio.Event does not wake the loop
        self.wake()

    async def run_due(self) -> datetime | None:
        """Send the most recent due daily report to every target that has not had it.
        Returns when a failed target may be tried again (None: nothing is left to try)."""
        async with self._lock:
            now = self.clock.now()
            day = due_day(now, self.at)
            waiting = await self.store.run(partial(self._waiting, day=day, now=now))
            if waiting:
                report = await self._build(day)
                for target in waiting:
                    await self._send(report, target)
            return await self.store.run(partial(next_attempt, kind=KIND,
                                                period=day.isoformat(),
                                                max_attempts=MAX_ATTEMPTS))

    def _waiting(self, conn: Connection, day: date, now: datetime) -> list[Target]:
        if not collected_during(conn, *local_span(day, day)):
            # the service was not watching that day: "nothing happened" would be untrue
            log.info("no daily report of %s: nothing was collected that day (the service "
                     "was not running)", day)
            return []
        sends = {s.target: s for s in report_sends_of(conn, KIND, day.isoformat())}
        return [t for t in self.targets if (s := sends.get(t.key)) is None
                or (s.status != "sent" and s.attempts < MAX_ATTEMPTS
                    and s.next_attempt_at <= now)]

    async def _build(self, day: date) -> DailyReport:
        ctx = self.context(self.clock.now())
        assessments = await self.store.run(lambda c: period_assessments(c, day, day, ctx))
        doc = period_document(assessments, day, day, ctx)
        lines = period_summary(assessments, day, day, ctx)
        links = () if self.public_url is None else (
            ("在线查看日报", f"{self.public_url}/reports/period?from={day}&to={day}"),)
        # the Word document draws its charts in Python: off the event loop
        docx = await asyncio.to_thread(to_docx, doc)
        return DailyReport(day, tuple(lines), links, to_html(doc), docx)

    async def _send(self, report: DailyReport, target: Target) -> None:
        period, now = report.day.isoformat(), self.clock.now()
        attempt = await self.store.run(partial(
            claim_send, kind=KIND, period=period, target=target.key, now=now,
            until=now + CLAIM, max_attempts=MAX_ATTEMPTS))
        if attempt is None:
            return  # taken meanwhile by another run
        try:
            outcome = await target.channel.send(report.message(target.to))
        except Exception as exc:  # a failing channel must not keep the others from their copy
            log.exception("daily report of %s to %s: the channel raised", period, target.key)
            outcome = Outcome(False, f"{exc.__class__.__name__}: {exc}")
        done = self.clock.now()
        if outcome.delivered:
            await self.store.run(partial(record_send, kind=KIND, period=period,
                                         target=target.key, now=done))
            log.info("daily report of %s sent to %s", period, target.key)
            return
        retry_at = done + max(RETRY, timedelta(seconds=outcome.retry_after or 0))
        await self.store.run(partial(record_send, kind=KIND, period=period, target=target.key,
                                     now=done, error=outcome.detail, retry_at=retry_at))
        if attempt < MAX_ATTEMPTS:
            log.warning("daily report of %s could not be sent to %s (attempt %d of %d): %s. "
                        "Trying again at %s; if it keeps failing, %s.", period, target.key,
                        attempt, MAX_ATTEMPTS, outcome.detail,
                        retry_at.astimezone(SHANGHAI).strftime("%H:%M"), target.hint)
        else:
            log.error("daily report of %s could not be sent to %s after %d attempts, giving "
                      "up: %s. To fix it, %s; then send it by hand (monitor report period "
                      "--from %s --to %s --format docx -o daily.docx).", period, target.key,
                      attempt, outcome.detail, target.hint, period, period)

    async def run(self) -> None:
        """The service loop. On the wall clock APScheduler wakes it at the report's time each
        day and when a failed target's retry is due; it also runs once at start, which sends
        a report missed while the service was down. Other clocks never sleep here: their
        owners call ``run_due`` or ``wake``."""
        scheduler = None
        if isinstance(self.clock, WallClock):
            scheduler = AsyncIOScheduler(timezone=SHANGHAI)
            # misfire_grace_time None: a wake-up late because the loop was busy still counts
            scheduler.add_job(self._alarm, CronTrigger(hour=self.at.hour, minute=self.at.minute,
                                                     timezone=SHANGHAI),
                              id="daily-report", coalesce=True, misfire_grace_time=None)
            scheduler.start()
        log.info("daily report: every day at %s Beijing time to %s", self.at.strftime("%H:%M"),
                 ", ".join(t.key for t in self.targets) or "nobody")
        try:
            while True:
                self._wake.clear()
                try:
                    retry = await self.run_due()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("the daily report could not be built; trying again in "
                                  "%d minutes", RETRY.seconds // 60)
                    retry = self.clock.now() + RETRY
                if retry is not None and scheduler is not None:
                    # only a wake-up call: the store says what is still to send
                    scheduler.add_job(self._alarm, "date", run_date=max(retry, self.clock.now()),
                                      id="daily-report-retry", replace_existing=True,
                                      misfire_grace_time=None)
                await self._wake.wait()
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=False)
