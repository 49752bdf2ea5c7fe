"""The incident stage: reads analysed items in id order, feeds the engine, writes what it
decided together with its cursor in one transaction, so a kill loses nothing and repeats
nothing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import Connection

from monitor.analyze.text import plain_text
from monitor.clock import Clock
from monitor.incidents.engine import LIVE, ActionError, Changes, Engine, ItemFeatures
from monitor.incidents.intake import Intake, check, open_by_hand, store_intake_item
from monitor.records import Incident, IncidentStatus, Item, Signal
from monitor.store import Store
from monitor.store.incidents import (
    analysed_after,
    apply_changes,
    dismissed_heat,
    filed_item_ids,
    get_cursor,
    get_incident,
    incident_by_item_url,
    incident_items_since,
    incident_states,
    item_ids_by_url,
    list_incidents,
    next_incident_id,
    set_cursor,
)
from monitor.store.rows import present
from monitor.store.schema import incidents as incidents_t
from monitor.waiting import until_woken

log = logging.getLogger(__name__)
NAME = "incidents"
OPENING = ("confirm", "ack")  # actions that open an incident from a post in none
LIVE_STATUSES = [IncidentStatus.OPEN, IncidentStatus.CONFIRMED, IncidentStatus.RESPONDING]


class IncidentStage:
    BATCH = 500
    TICK_S = 600.0  # heat decays and idle clusters are forgotten every ten minutes

    def __init__(self, store: Store, engine: Engine, clock: Clock,
                 weights: dict[str, float] | None = None) -> None:
        self.store = store
        self.engine = engine
        self.clock = clock
        self.weights = weights or {}
        self._wake = asyncio.Event()
        self._cursor: int | None = None
        self.on_timeline: Callable[[], None] | None = None  # the response stage's wake-up
        # whether this process leads the pipeline, and so holds the engine's clusters
        self.leading: Callable[[], bool] = lambda: True

    def wake(self) -> None:
        self._wake.set()

    def rebuild(self, engine: Engine) -> None:
        """Start afresh with this engine (a process taking over the pipeline): its memory is
        rebuilt from the store by the next pass."""
        self.engine, self._cursor = engine, None

    def _after(self, changes: Changes) -> None:
        _log_changes(changes)
        if changes.timeline and self.on_timeline is not None:
            self.on_timeline()

    async def restore(self) -> None:
        """Rebuild the engine's memory from the store: the live incidents and the relevant
        items of the window, observed again without deciding anything."""
        settings = self.engine.settings
        window = max(settings.cluster.window, settings.near_duplicate.window)
        since = self.clock.now() - timedelta(seconds=window)
        state = await self.store.run(lambda c: _stored_state(c, since))
        for incident in state.live:
            self.engine.adopt(incident, state.dismissed_heat.get(incident.id))
        self.engine.next_incident_id = max(self.engine.next_incident_id, state.next_id)
        live_ids = {i.id for i in state.live}
        last, restored = 0, 0
        while True:
            rows = await self.store.run(partial(analysed_after, last_id=last, limit=2000,
                                                since=since))
            rows = [(item, signal) for item, signal in rows
                    if item.id is not None and item.id <= state.cursor]
            if not rows:
                break
            for item, signal in rows:
                incident_id = state.filed.get(item.id or 0)
                self.engine.observe(item, plain_text(item.summary), signal,
                                    self.weights.get(item.source, 1.0), Changes(),
                                    incident_id=incident_id if incident_id in live_ids else None,
                                    quiet=True)
            restored += len(rows)
            last = rows[-1][0].id or last
        self._cursor = state.cursor
        if state.live or restored:
            log.info("incidents: restored %d live incidents and %d recent items",
                     len(state.live), restored)

    async def process_pending(self) -> int:
        """Feed every analysed item the stage has not seen; returns how many."""
        if self._cursor is None:
            await self.restore()
        cursor = self._cursor or 0
        total = 0
        await self._take_stored_states()
        while True:
            rows = await self.store.run(partial(analysed_after, last_id=cursor,
                                                limit=self.BATCH))
            if not rows:
                self._cursor = cursor
                return total
            await self._observe([Observed(item, signal, plain_text(item.summary))
                                 for item, signal in rows])
            cursor = self._cursor or cursor
            total += len(rows)
            if len(rows) < self.BATCH:  # that was the last of them
                return total

    async def take(self, rows: Sequence[Observed], last_id: int | None = None) -> None:
        """Feed items just stored with their signals, in id order, without reading them back
        (the replay, which analysed them ahead of time); ``last_id``: the last item stored
        with them, which the engine had no need to see. Statuses and levels a person set
        through another process are read at the next tick, not before every batch: in a
        replay they change only through this stage."""
        if self._cursor is None:
            await self.process_pending()  # what came before them goes first
        await self._observe(rows, last_id)

    async def _observe(self, rows: Sequence[Observed], last_id: int | None = None) -> None:
        cursor = max(self._cursor or 0, (rows[-1].item.id or 0) if rows else 0, last_id or 0)
        if not rows and cursor == (self._cursor or 0):
            return
        changes = Changes()
        for row in rows:
            self.engine.observe(row.item, row.body, row.signal,
                                self.weights.get(row.item.source, 1.0), changes,
                                features=row.features)
        ids = await self.store.run(partial(_write, changes=changes, cursor=cursor))
        self.engine.renumber(ids)
        self._cursor = cursor
        self._after(changes)

    async def _take_stored_states(self) -> None:
        """Statuses and levels set by a person through another process (the command line),
        and incidents a person opened there. A private database has no other process: its
        states are the engine's own."""
        if self.store.private:
            return
        ids = self.engine.live_incident_ids()
        stored = await self.store.run(partial(incident_states, ids=ids)) if ids else {}
        for incident_id, (status, level) in stored.items():
            self.engine.refresh(incident_id, IncidentStatus(status), level)
        opened = await self.store.run(partial(_opened_elsewhere, engine=self.engine))
        for incident, item_ids in opened:
            log.info("incident #%d opened by hand elsewhere: %s", incident.id, incident.title)
            await self._take_over(incident, item_ids, by_person=False)

    async def _take_over(self, incident: Incident, item_ids: list[int],
                         by_person: bool = False) -> None:
        changes = Changes()
        self.engine.take_by_hand(incident, item_ids, self.clock.now(), changes)
        await self._apply(changes, by_person)

    async def _apply(self, changes: Changes, by_person: bool = True) -> None:
        """Write what the engine decided. What a person did is written whether or not this
        process leads the pipeline (``store.base``); the leader's engine takes it from the
        store like any change made elsewhere."""
        store = self.store.base if by_person else self.store
        ids = await store.run(lambda c: write_changes(c, changes))
        self.engine.renumber(ids)
        self._after(changes)

    async def open_by_hand(self, intake: Intake, *, report: bool = True,
                           public_names: Collection[str] = ()) -> Incident:
        """Open an incident a person reports (a call, an order, a question, a post): stored
        at once with its timeline, then taken over by the engine so that the story joins it.
        ``report``: store the title and text as an item of its own first (a report entered
        by hand); without it the incident is opened from the items named."""
        now = self.clock.now()
        margin = self.engine.settings.dismiss_margin

        def write(conn: Connection) -> tuple[Incident, list[int]]:
            if report:
                check(intake, now)
            entered = store_intake_item(conn, intake, now, public_names) if report else intake
            return open_by_hand(conn, entered, now, margin, public_names)

        incident, item_ids = await self.store.base.run(write)
        log.info("incident #%d opened by hand by %s (%s%s): %s", incident.id, intake.by,
                 intake.channel, f", on {intake.because}" if intake.because else "",
                 incident.title)
        await self._take_over(incident, item_ids, by_person=True)
        return incident

    async def tick(self, now: datetime | None = None) -> None:
        await self._take_stored_states()
        changes = Changes()
        self.engine.tick(now or self.clock.now(), changes)
        if changes.incidents or changes.timeline:
            await self._apply(changes, by_person=False)

    async def act(self, item_url: str, action: str, by: str, at: datetime,
                  **fields: object) -> Incident:
        """Apply a person's action to the incident that holds the item with this URL."""
        incident = await self.store.base.run(lambda c: incident_by_item_url(c, item_url))
        if incident is None and action in OPENING:
            # a person confirms or acknowledges a post detection left alone: it becomes an
            # incident, opened by hand from that post, and the action applies to it
            incident = await self.open_by_hand(Intake(
                title="", by=by, at=at, channel="网络巡查",
                item_urls=(item_url,), because=action), report=False)
        if incident is None:
            raise ActionError(f"no incident holds an item with URL {item_url}")
        return await self.act_on(incident.id, action, by, at, **fields)

    async def act_on(self, incident_id: int, action: str, by: str, at: datetime,
                     **fields: object) -> Incident:
        """Apply a person's action to the incident with this id."""
        incident = await self.store.base.run(lambda c: get_incident(c, incident_id))
        if incident is None:
            raise ActionError(f"no incident #{incident_id}")
        changes = Changes()
        updated = self.engine.act(incident, action, by, at, changes, **fields)
        await self._apply(changes)
        return updated

    def _needs_engine(self, what: str) -> None:
        if not self.leading():
            raise ActionError(f"{what} needs the process that leads the pipeline, which holds "
                              "the incidents' clusters; this one stands by (see /healthz for "
                              "the leader) — use the leader's dashboard")

    async def merge(self, first: int, second: int, by: str, at: datetime) -> Incident:
        self._needs_engine("merging incidents")
        changes = Changes()
        survivor = self.engine.merge(first, second, by, at, changes)
        await self._apply(changes)
        return survivor

    async def split_items(self, incident_id: int, item_ids: set[int], by: str,
                          at: datetime) -> Incident:
        """Move these items of the incident into a new incident."""
        self._needs_engine("splitting an incident")
        incident = await self.store.base.run(lambda c: get_incident(c, incident_id))
        if incident is None:
            raise ActionError(f"no incident #{incident_id}")
        changes = Changes()
        new = self.engine.split(incident, item_ids, by, at, changes)
        await self._apply(changes)
        return new

    async def split(self, item_url: str, item_urls: list[str], by: str,
                    at: datetime) -> Incident:
        """Move the items with ``item_urls`` out of the incident holding ``item_url`` into a
        new incident."""
        self._needs_engine("splitting an incident")
        incident = await self.store.base.run(lambda c: incident_by_item_url(c, item_url))
        if incident is None:
            raise ActionError(f"no incident holds an item with URL {item_url}")
        ids = await self.store.base.run(lambda c: item_ids_by_url(c, item_urls))
        changes = Changes()
        new = self.engine.split(incident, set(ids), by, at, changes)
        await self._apply(changes)
        return new

    async def run(self) -> None:
        """The service loop: process when woken, tick every ten minutes of the clock."""
        next_tick = self.clock.now()
        while True:
            self._wake.clear()
            try:
                await self.process_pending()
                if self.clock.now() >= next_tick:
                    await self.tick()
                    next_tick = self.clock.now() + timedelta(seconds=self.TICK_S)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("incident stage failed; it resumes from its cursor")
            await until_woken(self._wake, 60.0)


@dataclass(frozen=True, slots=True)
class Observed:
    """An analysed item as the engine takes it."""

    item: Item
    signal: Signal
    body: str  # its summary as plain text
    features: ItemFeatures | None = None  # computed by the engine when not given


@dataclass(frozen=True)
class _StoredState:
    cursor: int
    next_id: int
    live: list[Incident]
    dismissed_heat: dict[int, float | None]
    filed: dict[int, int]  # item id → incident id, for items of the window


def _stored_state(conn: Connection, since: datetime) -> _StoredState:
    live = [i for i in list_incidents(conn)
            if i.status in LIVE or (i.status is IncidentStatus.CLOSED and i.updated_at >= since)]
    heats = {i.id: dismissed_heat(conn, i.id) for i in live
             if i.status is IncidentStatus.DISMISSED}
    return _StoredState(get_cursor(conn, NAME), next_incident_id(conn), live, heats,
                        incident_items_since(conn, since))


def _opened_elsewhere(conn: Connection, engine: Engine) -> list[tuple[Incident, list[int]]]:
    """Live incidents the engine never saw: opened by a person through another process."""
    return [(i, filed_item_ids(conn, i.id)) for i in list_incidents(conn, LIVE_STATUSES)
            if not engine.knows(i.id)]


def _write(conn: Connection, changes: Changes, cursor: int) -> dict[int, int]:
    ids = write_changes(conn, changes)
    set_cursor(conn, NAME, cursor)
    return ids


def write_changes(conn: Connection, changes: Changes) -> dict[int, int]:
    """Write the engine's decisions. An incident it opened under an id that another process
    gave meanwhile (a person opening one from the command line) takes the next free id;
    returns those, old → new, for the engine."""
    opened = changes.opened()
    taken = sorted(present(conn, incidents_t.c.id, opened)) if opened else []
    ids = {}
    if taken:
        free = next_incident_id(conn)
        for old in (i for i in opened if i >= taken[0]):
            ids[old] = free
            free += 1
        changes.renumber(ids)
        log.warning("incidents %s were numbered by another process meanwhile; opened as %s",
                    sorted(ids), sorted(ids.values()))
    apply_changes(conn, changes)
    return ids


def _log_changes(changes: Changes) -> None:
    for event in changes.timeline:
        if event.type in ("opened", "level_proposed", "resurfaced", "merged", "confirmed",
                          "dismissed", "closed"):
            log.info("incident #%d %s: %s", event.incident_id, event.type,
                     {k: v for k, v in event.data.items() if k in ("title", "level", "reasons",
                                                                   "reflare_of", "into")})
