"""`monitor replay`: a recorded scenario through the whole pipeline on the simulated clock.

Items are stored as the collectors would store them (same dedup and repost links), with their
analysis prepared ahead (prepare.py), and fed to the incident stage in batches; every ten minutes
of scenario time the incident stage ticks, as the service does, and a batch ends there. While the
response clocks run, a batch also ends after five minutes of scenario time, so that the clocks
see an incident's events at most that late. Actions name their incident by the URL of any of
its items. The output is the timeline, one JSON object per event, in the order the events were
recorded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Connection

from monitor.analyze.stage import AnalysisStage
from monitor.clock import SHANGHAI, SimClock
from monitor.errors import StoreError
from monitor.incidents.engine import ActionError
from monitor.incidents.intake import Intake
from monitor.incidents.prepare import Foresight, Models, Prepared, Preparer, prepared
from monitor.incidents.scenario import InOrder, ScenarioError, Step
from monitor.incidents.stage import IncidentStage, Observed
from monitor.records import Item, TimelineEvent
from monitor.response.stage import ResponseStage
from monitor.store import Store
from monitor.store.incidents import timeline_after
from monitor.store.items import insert_items, last_item_id
from monitor.store.search import index_texts
from monitor.store.signals import put_signal_values

log = logging.getLogger(__name__)
# Scenario seconds per batch while the response clocks run. Without them a batch runs to the next
# tick: the engine decides the same whatever the batches, and every batch costs a transaction
# and a round of lookups (about 6 % of a long replay at five minutes).
BATCH_S = 300
BATCH_ITEMS = 1000


def event_json(event: TimelineEvent) -> dict[str, Any]:
    return {**event.data, "at": event.at.astimezone(SHANGHAI).isoformat(), "type": event.type,
            "incident": event.incident_id, "actor": event.actor}


@dataclass
class ReplayReport:
    items: int = 0
    actions: int = 0
    errors: int = 0
    events: int = 0


class _Replayer:
    def __init__(self, store: Store, incidents: IncidentStage, clock: SimClock,
                 emit: Callable[[dict[str, Any]], None], on_error: Callable[[str], None],
                 response: ResponseStage | None, foreseen: bool) -> None:
        """``foreseen``: the items' ids were foreseen (prepare.Foresight)."""
        self.store, self.incidents, self.clock = store, incidents, clock
        self.response = response
        self.foreseen = foreseen
        self.emit, self.on_error = emit, on_error
        self.report = ReplayReport()
        self.order = InOrder()
        self.pending: list[tuple[Item, Prepared]] = []
        self.batch_start: datetime | None = None
        self.next_tick: datetime | None = None
        self.due: datetime | None = None  # the response clocks' next due time
        self.last_event = 0
        self.latest: datetime | None = None  # the clock's time, while not moved yet

    async def take(self, chunk: Sequence[Prepared]) -> None:
        """A chunk of prepared lines, in order. Most are items before the next tick and due
        time, for a batch with room: they join it without an await, and the clock is moved
        to the latest of them once something else reads it."""
        for ready in chunk:
            step = ready.step
            if (isinstance(step, Step) and step.item is not None and not step.action
                    and self.next_tick is not None
                    and self.order.last is not None
                    and self.order.last <= step.at < self.next_tick
                    and (self.due is None or step.at < self.due)
                    and len(self.pending) < BATCH_ITEMS - 1
                    and (self.response is None or self.batch_start is None
                         or (step.at - self.batch_start).total_seconds() < BATCH_S)):
                self.order.last = self.latest = step.at
                self.pending.append((step.item, ready))
                self.report.items += 1
                self.batch_start = self.batch_start or step.at
            else:
                await self.step(ready)

    def _move_clock(self) -> None:
        if self.latest is not None and self.latest > self.clock.now():
            self.clock.advance((self.latest - self.clock.now()).total_seconds())
        self.latest = None

    async def step(self, ready: Prepared) -> None:
        self._move_clock()
        step = self.order.check(ready.step)
        if isinstance(step, ScenarioError):
            self.report.errors += 1
            self.on_error(str(step))
            return
        if self.response is not None and self.batch_start is not None and \
                (step.at - self.batch_start).total_seconds() >= BATCH_S:
            await self.flush()
        await self.advance(step.at)
        if step.item is not None:
            self.pending.append((step.item, ready))
            self.report.items += 1
            self.batch_start = self.batch_start or step.at
            if len(self.pending) >= BATCH_ITEMS:
                await self.flush()
        if step.action:  # an opening by hand carries its report as an item, stored first
            await self.flush()
            await self.act(step)

    async def flush(self) -> None:
        """Store and cluster the waiting items; print the new timeline events."""
        self._move_clock()
        self.batch_start = None
        if self.pending:
            batch, self.pending = self.pending, []
            taken, last_id = await self.store.run(
                partial(_store, batch=batch, now=self.clock.now(), foreseen=self.foreseen))
            await self.incidents.take(taken, last_id)
        if self.response is not None:
            # only the response stage changes the next due time
            self.due = await self.response.catch_up(self.clock.now())
        events = await self.store.run(lambda c: timeline_after(c, self.last_event))
        for event in events:
            self.emit(event_json(event))
        if events:
            self.last_event = events[-1].id or self.last_event
            self.report.events += len(events)

    async def advance(self, to: datetime) -> None:
        """Move the clock to ``to``, ticking the incident stage every ten minutes and stopping
        at every due time of the response clocks on the way."""
        if self.next_tick is None:
            self.next_tick = to + timedelta(seconds=IncidentStage.TICK_S)
        while True:
            stop = min(self.next_tick, self.due) if self.due is not None else self.next_tick
            if stop > to:
                break
            await self.flush()
            if stop > self.clock.now():
                self.clock.advance((stop - self.clock.now()).total_seconds())
            if stop == self.next_tick:
                await self.incidents.tick(self.next_tick)
                self.next_tick += timedelta(seconds=IncidentStage.TICK_S)
            await self.flush()  # the clocks act on what the tick and the due time brought
        if to > self.clock.now():
            self.clock.advance((to - self.clock.now()).total_seconds())

    async def act(self, step: Step) -> None:
        self.report.actions += 1
        fields = {k: v for k, v in step.action.items()
                  if k not in ("type", "at", "action", "item_url", "by")}
        by = str(step.action.get("by") or "replay")
        try:
            if step.action["action"] == "open":
                a = step.action
                await self.incidents.open_by_hand(Intake(
                    title=str(a.get("title") or ""), by=by, at=step.at,
                    channel=str(a.get("channel") or "其他"), text=str(a.get("text") or ""),
                    occurred=datetime.fromisoformat(a["occurred"]) if a.get("occurred") else None,
                    level=a.get("level"), item_urls=tuple(a["item_urls"]),
                    region=a.get("region")), report=False)
            else:
                await self.incidents.act(step.action["item_url"], step.action["action"], by,
                                         step.at, **fields)
        except ActionError as exc:
            self.report.errors += 1
            self.on_error(f"line {step.line}: {exc}")
        await self.flush()


async def replay(lines: Iterable[str], store: Store, analysis: AnalysisStage,
                 incidents: IncidentStage, clock: SimClock,
                 emit: Callable[[dict[str, Any]], None],
                 on_error: Callable[[str], None],
                 response: ResponseStage | None = None,
                 models: Models | None = None) -> ReplayReport:
    """``models``: where a second process loads the analysis models from, so that a long
    scenario is prepared there (see prepare.py); None prepares everything in this process."""
    # whatever the database already holds goes first, as the service would take it
    await analysis.analyse_pending()
    await incidents.process_pending()
    foresight = (Foresight(incidents.engine.settings.near_duplicate)
                 if store.private and await store.run(last_item_id) is None else None)
    replayer = _Replayer(store, incidents, clock, emit, on_error, response, foresight is not None)
    if response is not None:
        replayer.due = await response.next_due()
    preparer = Preparer(analysis.analyzer, incidents.engine, foresight)
    async for chunk in prepared(lines, preparer, models):
        await replayer.take(chunk)
    await replayer.flush()
    return replayer.report


def with_progress(lines: Iterable[str], say: Callable[[str], None],
                  scenario_now: Callable[[], datetime], size: int | None = None,
                  every_s: float = 10.0, monotonic: Callable[[], float] = time.monotonic
                  ) -> Iterator[str]:
    """The lines, saying every ``every_s`` seconds how far a long replay has read: lines, the
    share of the file (``size``: its bytes, when known), the scenario's time and the pace."""
    start = last = monotonic()
    read = 0
    for count, line in enumerate(lines, 1):
        if size:
            read += len(line.encode("utf-8"))
        yield line
        now = monotonic()
        if now - last >= every_s:
            last = now
            share = f" ({read / size:.0%} of the file)" if size else ""
            at = scenario_now().astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
            say(f"replay: {count:,} lines read{share}, scenario time {at}, "
                f"{count / (now - start):,.0f} lines/s")


def _store(conn: Connection, batch: list[tuple[Item, Prepared]], now: datetime, foreseen: bool
           ) -> tuple[list[Observed], int | None]:
    """The items, their signals and their search-index words, in one transaction. Returns
    the items stored (not known before) that the engine takes, with what it needs of them,
    and the last id stored. ``foreseen``: check the ids given against the ones foreseen."""
    items = [item for item, _ in batch]
    new = insert_items(conn, items, max(i.fetched_at for i in items))
    if foreseen and [(at, ready.item_id) for at, (_, ready) in enumerate(batch)
                     if ready.item_id is not None] != list(zip(new.stored, new.ids, strict=True)):
        raise StoreError("the replay's database gave its items other ids than foreseen: another "
                         "process wrote to it; run the replay again")
    kept = [batch[at][1] for at in new.stored]
    put_signal_values(conn, [(item_id, ready.stored_signal)
                             for item_id, ready in zip(new.ids, kept, strict=True)], now)
    index_texts(conn, list(zip(new.ids, [ready.index for ready in kept], strict=True)))
    taken = [Observed(new.item(k), ready.signal, "", ready.features)
             for k, ready in enumerate(kept) if ready.signal is not None]
    return taken, (new.ids[-1] if new.ids else None)
