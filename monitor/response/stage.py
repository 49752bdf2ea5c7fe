"""The response stage: follows the timeline to start, re-plan and stop clocks, and carries
out due actions when they fall due. The store holds every clock, deadline and due action;
the scheduler only wakes the stage at the next due time, so a restart loses nothing: what
fell due while the service was down is done at once and marked late."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import Connection

from monitor import failpoints
from monitor.clock import Clock, SimClock, WallClock
from monitor.response.clocks import Clocks
from monitor.store import Store
from monitor.store.incidents import get_cursor, newest_event_id, set_cursor, timeline_after
from monitor.store.response import due_action_ids, next_due_at

log = logging.getLogger(__name__)
NAME = "response"  # its cursor is a timeline id
HANDLED = ("opened", "level_proposed", "confirmed", "acknowledged", "milestone_recorded",
           "occurred_set", "dismissed", "closed", "merged", "resurfaced")
EVENT_BATCH = 200
# Due actions carried out in one trip to the store's thread (about 1 ms each): the other
# stages' statements wait behind a trip, so a burst after an outage is cut into short ones.
ACTIONS_PER_TRIP = 50


class ResponseStage:
    IDLE_CHECK_S = 30.0  # look at the store even when nobody wakes us

    def __init__(self, store: Store, clocks: Clocks, clock: Clock) -> None:
        self.store = store
        self.clocks = clocks
        self.clock = clock
        self._wake = asyncio.Event()
        self.on_outbox: Callable[[], None] | None = None  # the sender's wake-up

    def wake(self) -> None:
        self._wake.set()

    async def process_events(self) -> int:
        """Follow the timeline from the cursor; returns how many events were handled."""
        return await self.store.run_transactions(self._follow)

    async def run_due(self, now: datetime | None = None) -> int:
        """Carry out every action due by now, each in its own transaction."""
        wake, total = self._outbox_waker(), 0
        while True:
            done, more = await self.store.run_transactions(partial(self._carry_out_due, now,
                                                                   wake))
            total += done
            if not more:
                return total

    async def next_due(self) -> datetime | None:
        return await self.store.run(next_due_at)

    async def catch_up(self, now: datetime | None = None) -> datetime | None:
        """Follow the timeline, carry out what is due by now, and return the next due time:
        usually one trip to the store's thread (each step still in its own transactions)."""
        wake = self._outbox_waker()

        def steps(follow: bool) -> tuple[bool, datetime | None]:
            if follow:
                self._follow()
            _, more = self._carry_out_due(now, wake)
            return more, None if more else self.store.transaction(next_due_at)

        more, due = await self.store.run_transactions(partial(steps, True))
        while more:
            more, due = await self.store.run_transactions(partial(steps, False))
        return due

    # --- on the store's thread ---------------------------------------------------------------

    def _follow(self) -> int:
        total = 0
        while True:
            handled, more = self.store.transaction(self._events_batch)
            total += handled
            if not more:
                return total

    def _events_batch(self, conn: Connection) -> tuple[int, bool]:
        now = self.clock.now()
        cursor = get_cursor(conn, NAME)
        newest = newest_event_id(conn)
        events = timeline_after(conn, cursor, EVENT_BATCH, until=newest, types=HANDLED)
        for event in events:
            self.clocks.handle(conn, event, now)
            failpoints.hit("response.mid_events")
        more = len(events) == EVENT_BATCH
        set_cursor(conn, NAME, (events[-1].id or cursor) if more else newest)
        return len(events), more

    def _carry_out_due(self, now: datetime | None, wake: Callable[[], None] | None
                       ) -> tuple[int, bool]:
        """Due actions, each in its own transaction, until none is due; or, after a trip's
        worth, stop and say that more may be due."""
        done = tried = 0
        while tried < ACTIONS_PER_TRIP:
            ids = self.store.transaction(partial(due_action_ids, now=now or self.clock.now(),
                                                 limit=ACTIONS_PER_TRIP - tried))
            if not ids:
                return done, False
            for action_id in ids:
                done += self.store.transaction(partial(
                    self.clocks.carry_out, action_id=action_id, now=now or self.clock.now()))
                tried += 1
                failpoints.hit("response.between_actions")
                if wake is not None:
                    wake()  # each alert leaves as soon as its action is done
        return done, True

    def _outbox_waker(self) -> Callable[[], None] | None:
        """The sender's wake-up, callable from the store's thread (it belongs to the loop)."""
        if self.on_outbox is None:
            return None
        loop, on_outbox = asyncio.get_running_loop(), self.on_outbox

        def wake() -> None:
            loop.call_soon_threadsafe(on_outbox)

        return wake

    async def run(self) -> None:
        """The service loop: follow the timeline and do what falls due. On the wall clock
        APScheduler wakes the loop at the next due time; on any clock the loop also sleeps
        no longer than until then, and looks on its own every half minute."""
        scheduler = AsyncIOScheduler(timezone="Asia/Shanghai")
        scheduler.start()
        try:
            while True:
                self._wake.clear()
                due = None
                try:
                    due = await self.catch_up()
                    if due is not None and isinstance(self.clock, WallClock):
                        # only a wake-up call: if it is lost or skipped, the store still has
                        # the action and the loop's own wait finds it
                        scheduler.add_job(self.wake, "date", run_date=due, id="response-wake",
                                          replace_existing=True, misfire_grace_time=None)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("response stage failed; due actions stay in the store and "
                                  "are retried")
                await self._wait(due)
        finally:
            scheduler.shutdown(wait=False)

    async def _wait(self, due: datetime | None) -> None:
        """Until woken, until ``due`` on our clock, or IDLE_CHECK_S of real time."""
        waits: list[asyncio.Task[Any]] = [asyncio.create_task(self._wake.wait())]
        # a simulated clock moves only when its owner moves it; sleeping on it would move it
        if due is not None and not isinstance(self.clock, SimClock):
            ahead = max(0.0, (due - self.clock.now()).total_seconds())
            waits.append(asyncio.create_task(self.clock.sleep(ahead)))
        try:
            await asyncio.wait(waits, timeout=self.IDLE_CHECK_S,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()
