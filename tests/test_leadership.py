"""The pipeline lease between processes of one database: one leads, the others stand by, a
standby takes over once the leader's lease has run out, and a leader that lost it writes
nothing more. Two Store instances stand for two processes, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.analyze.analyzer import Analyzer
from monitor.clock import SimClock
from monitor.incidents import make_engine
from monitor.incidents.engine import ActionError
from monitor.incidents.intake import Intake, open_by_hand, store_intake_item
from monitor.incidents.settings import load_incident_settings
from monitor.incidents.stage import IncidentStage
from monitor.leadership import Leadership
from monitor.response.clocks import Clocks
from monitor.response.policy import load_policy
from monitor.response.roster import load_roster
from monitor.response.stage import ResponseStage
from monitor.store import Store
from monitor.store.incidents import set_cursor, timeline_of
from tests.incidents.conftest import START, analyzer

__all__ = ["analyzer"]  # the fixture
from monitor.store.leases import LeaseLost
from monitor.store.schema import outbox, service_log, stage_cursors


class Process:
    """One process's store and its leadership, recording when it led and stood by."""

    def __init__(self, url: str, name: str, ttl: float) -> None:
        self.store = Store(url)
        self.led: list[str] = []
        self.leadership = Leadership(self.store, ttl, self._lead, self._lose, holder=name)
        self.pipeline = self.store.fenced(self.leadership.check)

    async def _lead(self) -> None:
        self.led.append("lead")

    async def _lose(self) -> None:
        self.led.append("lose")


@pytest.fixture(params=["sqlite", "postgresql"])
async def url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.db'}"
    else:
        yield request.getfixturevalue("postgres_db")


async def test_one_leads_the_other_takes_over_when_it_stops(url: str) -> None:
    first, second = Process(url, "host-a:1", 3.0), Process(url, "host-b:2", 3.0)
    try:
        assert await first.leadership.try_to_lead()
        assert not await second.leadership.try_to_lead()
        assert (first.leadership.role, second.leadership.role) == ("leader", "standby")
        beating = asyncio.create_task(first.leadership.run())
        standing = asyncio.create_task(second.leadership.run())
        await asyncio.sleep(4)  # longer than the lease: renewals keep it
        assert second.leadership.role == "standby"
        beating.cancel()  # a clean stop hands the lease on at once
        await asyncio.gather(beating, return_exceptions=True)
        for _ in range(40):
            if second.leadership.role == "leader":
                break
            await asyncio.sleep(0.1)
        assert second.leadership.role == "leader"
        assert second.led == ["lead"]
        lease = await second.leadership.holder_now()
        assert lease is not None
        assert (lease.holder, lease.generation) == ("host-b:2", 2)
        standing.cancel()
        await asyncio.gather(standing, return_exceptions=True)
        kinds = second.store.transaction(lambda c: [
            (r.kind, r.holder) for r in c.execute(select(service_log).order_by(service_log.c.id))])
        assert kinds == [("lead", "host-a:1"), ("step_down", "host-a:1"), ("lead", "host-b:2"),
                         ("step_down", "host-b:2")]
    finally:
        first.store.close()
        second.store.close()


async def test_a_leader_that_stalled_past_its_lease_writes_nothing_more(url: str) -> None:
    first, second = Process(url, "host-a:1", 3.0), Process(url, "host-b:2", 3.0)
    try:
        assert await first.leadership.try_to_lead()
        first.pipeline.transaction(lambda c: set_cursor(c, "incidents", 5))
        # the leader stops renewing (paused, or cut off from the database); its lease runs out
        await asyncio.sleep(3.2)
        assert await second.leadership.try_to_lead()
        second.pipeline.transaction(lambda c: set_cursor(c, "incidents", 6))
        # the old leader wakes up and goes on writing: refused, and it steps down
        with pytest.raises(LeaseLost):
            first.pipeline.transaction(lambda c: set_cursor(c, "incidents", 99))
        await first.leadership._beat()
        assert first.leadership.role == "standby"
        assert first.led == ["lead", "lose"]
        cursor = first.store.transaction(lambda c: c.execute(
            select(stage_cursors.c.last_item_id)
            .where(stage_cursors.c.stage == "incidents")).scalar())
        assert cursor == 6
        # what people do is recorded whoever leads
        first.store.transaction(lambda c: set_cursor(c, "people", 1))
    finally:
        first.store.close()
        second.store.close()


async def test_a_standby_never_writes_through_the_pipeline(url: str) -> None:
    only = Process(url, "host-a:1", 3.0)
    try:
        with pytest.raises(LeaseLost, match="does not hold the pipeline lease"):
            only.pipeline.transaction(lambda c: set_cursor(c, "incidents", 1))
    finally:
        only.store.close()


async def test_a_standby_refuses_to_merge_and_says_where_to_go(tmp_path: Path,
                                                               analyzer: Analyzer) -> None:
    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        incidents = IncidentStage(store, make_engine(analyzer, load_incident_settings()),
                                  SimClock(START))
        incidents.leading = lambda: False
        with pytest.raises(ActionError, match="this one stands by"):
            await incidents.merge(1, 2, "值班员甲", START)
        with pytest.raises(ActionError, match="this one stands by"):
            await incidents.split_items(1, {3}, "值班员甲", START)
    finally:
        store.close()


async def test_clocks_handed_over_mid_way_miss_each_deadline_once(url: str) -> None:
    """A level II incident's clocks run in the leader until 3 h in; the leader stalls, the
    standby takes over and runs them on to 26 h; the old leader, waking, writes nothing."""
    first, second = Process(url, "host-a:1", 3.0), Process(url, "host-b:2", 3.0)
    clocks = Clocks(load_policy(), load_roster())
    try:
        hand = Intake(title="12320来电：某县医院产妇死亡", by="值班员甲", at=START,
                      channel="电话/12320热线", level="II")
        first.store.transaction(lambda c: open_by_hand(
            c, store_intake_item(c, hand, START), START, 2.0))
        assert await first.leadership.try_to_lead()
        old = ResponseStage(first.pipeline, clocks, SimClock(START + timedelta(hours=3)))
        await old.process_events()
        await old.run_due()
        await asyncio.sleep(3.2)  # the leader stalls past its lease
        assert await second.leadership.try_to_lead()
        new = ResponseStage(second.pipeline, clocks, SimClock(START + timedelta(hours=26)))
        await new.process_events()
        await new.run_due()
        with pytest.raises(LeaseLost):  # the old leader wakes up at 26 h too
            await old.run_due(START + timedelta(hours=26))
        events = second.store.transaction(lambda c: timeline_of(c, 1))
        keys = second.store.transaction(lambda c: c.execute(select(outbox.c.key)).scalars().all())
    finally:
        first.store.close()
        second.store.close()
    missed = [e.data["deadline"] for e in events if e.type == "deadline_missed"]
    for key in ("internal_report", "release_target", "release", "press_conference"):
        assert missed.count(key) == 1, key
    assert len(missed) == len(set(missed))
    escalated = [(e.data.get("reason"), e.data.get("deadline"), e.data.get("role"))
                 for e in events if e.type == "escalated"]
    assert escalated
    assert len(escalated) == len(set(escalated))
    assert len(keys) == len(set(keys))  # no alert queued twice
    reminders = [e for e in events if e.type == "reminder"]
    assert len(reminders) == len({(e.data["deadline"], e.data.get("minutes_left"))
                                  for e in reminders})
