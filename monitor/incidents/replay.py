"""`monitor replay`: a recorded scenario through the whole pipeline on the simulated clock.

Items are stored as the collectors would store them (same dedup and repost links), analysed
by the analysis stage and fed to the incident stage, in batches of at most a minute of
scenario time; every ten minutes of scenario time the incident stage ticks, as the service
does. Actions name their incident by the URL of any of its items. The output is the timeline,
one JSON object per event, in the order the events were recorded.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from monitor.analyze.stage import AnalysisStage
from monitor.clock import SHANGHAI, SimClock
from monitor.collect.decode import content_hash
from monitor.collect.normalize import normalize_title, normalize_url
from monitor.incidents.engine import ACTIONS, MILESTONE_KINDS, ActionError
from monitor.incidents.stage import IncidentStage
from monitor.records import Item, TimelineEvent
from monitor.response.stage import ResponseStage
from monitor.store import Store
from monitor.store.incidents import timeline_after
from monitor.store.items import insert_items

log = logging.getLogger(__name__)
BATCH_S = 300  # scenario seconds per batch; event times come from the items
BATCH_ITEMS = 1000


class ScenarioError(ValueError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


@dataclass(frozen=True)
class Step:
    line: int
    at: datetime
    item: Item | None = None
    action: dict[str, Any] = field(default_factory=dict)


def parse(lines: Iterable[str]) -> Iterator[Step | ScenarioError]:
    """Steps of a scenario, or an error for a line that cannot be used."""
    last: datetime | None = None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            step = _step(number, json.loads(line))
        except ScenarioError as exc:
            yield exc
            continue
        except ValueError as exc:
            yield ScenarioError(number, f"not JSON ({exc})")
            continue
        if last is not None and step.at < last:
            yield ScenarioError(number, f"'at' {step.at.isoformat()} is earlier than the line "
                                        "before; scenario lines must be in time order")
            continue
        last = step.at
        yield step


def _time(number: int, value: object, name: str) -> datetime:
    if not isinstance(value, str):
        raise ScenarioError(number, f"{name!r} must be an ISO 8601 time")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ScenarioError(number, f"{name!r} is not an ISO 8601 time: {value!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=SHANGHAI)


def _step(number: int, record: object) -> Step:
    if not isinstance(record, dict):
        raise ScenarioError(number, "not a JSON object")
    at = _time(number, record.get("at"), "at")
    kind = record.get("type")
    if kind == "item":
        for key in ("source", "url", "title"):
            if not isinstance(record.get(key), str) or not record[key]:
                raise ScenarioError(number, f"an item needs a non-empty string {key!r}")
        text = record.get("text") or ""
        published = (_time(number, record["published_at"], "published_at")
                     if record.get("published_at") else None)
        url_norm = normalize_url(record["url"])
        summary = html.escape(str(text))
        item = Item(source=record["source"], ident="u:" + url_norm, guid=None, url=record["url"],
                    url_norm=url_norm, title=record["title"],
                    title_norm=normalize_title(record["title"]), summary=summary,
                    published_at=published, fetched_at=at,
                    content_hash=content_hash(record["title"], url_norm, str(text)))
        return Step(number, at, item=item)
    if kind == "action":
        action = record.get("action")
        if action not in ACTIONS:
            raise ScenarioError(number, f"unknown action {action!r}; known: "
                                        f"{', '.join(ACTIONS)}")
        if not isinstance(record.get("item_url"), str):
            raise ScenarioError(number, "an action needs 'item_url', the URL of an item of "
                                        "its incident")
        if action == "milestone" and record.get("kind") not in MILESTONE_KINDS:
            raise ScenarioError(number, f"a milestone needs 'kind', one of "
                                        f"{', '.join(MILESTONE_KINDS)}")
        return Step(number, at, action=dict(record))
    if kind == "end":  # the scenario runs on to this time: clocks still act until then
        return Step(number, at)
    raise ScenarioError(number, f"'type' must be \"item\", \"action\" or \"end\" "
                                f"(got {kind!r})")


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
    def __init__(self, store: Store, analysis: AnalysisStage, incidents: IncidentStage,
                 clock: SimClock, emit: Callable[[dict[str, Any]], None],
                 on_error: Callable[[str], None], response: ResponseStage | None) -> None:
        self.store, self.analysis, self.incidents, self.clock = store, analysis, incidents, clock
        self.response = response
        self.emit, self.on_error = emit, on_error
        self.report = ReplayReport()
        self.pending: list[Item] = []
        self.batch_start: datetime | None = None
        self.next_tick: datetime | None = None
        self.last_event = 0

    async def step(self, step: Step) -> None:
        if self.batch_start is not None and (step.at - self.batch_start).total_seconds() >= \
                BATCH_S:
            await self.flush()
        await self.advance(step.at)
        if step.item is not None:
            self.pending.append(step.item)
            self.report.items += 1
            self.batch_start = self.batch_start or step.at
            if len(self.pending) >= BATCH_ITEMS:
                await self.flush()
        elif step.action:
            await self.flush()
            await self.act(step)

    async def flush(self) -> None:
        """Store, analyse and cluster the waiting items; print the new timeline events."""
        self.batch_start = None
        if self.pending:
            batch, self.pending = self.pending, []
            await self.store.run(lambda c: _store_items(c, batch))
            await self.analysis.analyse_pending()
            await self.incidents.process_pending()
        if self.response is not None:
            await self.response.process_events()
            await self.response.run_due(self.clock.now())
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
            due = await self.response.next_due() if self.response is not None else None
            stop = min(self.next_tick, due) if due is not None else self.next_tick
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
        try:
            await self.incidents.act(step.action["item_url"], step.action["action"],
                                     str(step.action.get("by") or "replay"), step.at, **fields)
        except ActionError as exc:
            self.report.errors += 1
            self.on_error(f"line {step.line}: {exc}")
        await self.flush()


async def replay(lines: Iterable[str], store: Store, analysis: AnalysisStage,
                 incidents: IncidentStage, clock: SimClock,
                 emit: Callable[[dict[str, Any]], None],
                 on_error: Callable[[str], None],
                 response: ResponseStage | None = None) -> ReplayReport:
    replayer = _Replayer(store, analysis, incidents, clock, emit, on_error, response)
    for step in parse(lines):
        if isinstance(step, ScenarioError):
            replayer.report.errors += 1
            on_error(str(step))
        else:
            await replayer.step(step)
    await replayer.flush()
    return replayer.report


def _store_items(conn: Any, batch: list[Item]) -> None:
    insert_items(conn, batch, max(i.fetched_at for i in batch))
