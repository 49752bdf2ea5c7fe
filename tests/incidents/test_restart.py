"""A restart loses nothing and repeats nothing: the engine is rebuilt from the store."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from monitor.analyze.analyzer import Analyzer
from monitor.analyze.stage import AnalysisStage
from monitor.clock import SimClock
from monitor.incidents import make_engine
from monitor.incidents.scenario import parse
from monitor.incidents.settings import load_incident_settings
from monitor.incidents.stage import IncidentStage
from monitor.records import Item
from monitor.store import Store
from monitor.store.incidents import list_incidents, timeline_after
from monitor.store.items import insert_new
from monitor.store.schema import incident_items
from tests.incidents.conftest import DISPUTE, START, item


def dispute_items() -> list[Item]:
    records = [item(i * 6, source, f"https://d.example/{i}", title, text)
               for i, (source, title, text) in enumerate(DISPUTE)]
    steps = list(parse(json.dumps(r, ensure_ascii=False) for r in records))
    return [s.item for s in steps if not isinstance(s, Exception) and s.item is not None]


async def feed(store: Store, analyzer: Analyzer, clock: SimClock, items: list[Item]) -> None:
    """What a fresh process does: restore, then take the new items."""
    incidents = IncidentStage(store, make_engine(analyzer, load_incident_settings()), clock)
    for one in items:
        clock.advance((one.fetched_at - clock.now()).total_seconds())
        await store.run(lambda c, x=one: insert_new(c, x.source, [x], x.fetched_at))
    await AnalysisStage(store, analyzer, clock).analyse_pending()
    await incidents.process_pending()


async def test_a_restart_continues_the_incident(tmp_path: Path, analyzer: Analyzer) -> None:
    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    clock = SimClock(START)
    items = dispute_items()
    try:
        await feed(store, analyzer, clock, items[:5])  # the fifth item opens the incident
        first = await store.run(list_incidents)
        assert [i.items for i in first] == [5]
        await feed(store, analyzer, clock, items[5:])  # a new process, same store
        await feed(store, analyzer, clock, [])  # and another one with nothing new
        after = await store.run(list_incidents)
        events = await store.run(lambda c: timeline_after(c))
    finally:
        store.close()
    assert [(i.id, i.items) for i in after] == [(1, 6)]
    assert [e.type for e in events].count("opened") == 1
    added = [e.data["item"] for e in events if e.type == "item_added"]
    assert sorted(added) == list(range(1, 7))  # every item once


async def test_a_restart_long_after_an_incident_went_quiet_keeps_it(tmp_path: Path,
                                                                    analyzer: Analyzer) -> None:
    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    clock = SimClock(START)
    try:
        await feed(store, analyzer, clock, dispute_items())
        clock.advance(3 * 86400)  # every item is older than the windows now
        stage = IncidentStage(store, make_engine(analyzer, load_incident_settings()), clock)
        await stage.restore()
        await stage.tick()  # the live incident has no member in memory
        after = await store.run(list_incidents)
    finally:
        store.close()
    assert [(i.id, i.status.value, i.items) for i in after] == [(1, "open", 6)]
    assert after[0].title


async def test_split_moves_items_to_a_new_incident_and_loses_none(tmp_path: Path,
                                                                  analyzer: Analyzer) -> None:
    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    clock = SimClock(START)
    items = dispute_items()
    engine = make_engine(analyzer, load_incident_settings())
    stage = IncidentStage(store, engine, clock)
    try:
        for one in items:
            clock.advance((one.fetched_at - clock.now()).total_seconds())
            await store.run(lambda c, x=one: insert_new(c, x.source, [x], x.fetched_at))
        await AnalysisStage(store, analyzer, clock).analyse_pending()
        await stage.process_pending()
        moved = ["https://d.example/4", "https://d.example/5"]
        new = await stage.split("https://d.example/0", moved, "科长乙", clock.now())
        incidents = {i.id: i for i in await store.run(list_incidents)}
        events = await store.run(lambda c: timeline_after(c))
        filed = await store.run(lambda c: dict(c.execute(
            select(incident_items.c.item_id, incident_items.c.incident_id)).all()))
    finally:
        store.close()
    assert sorted(filed) == list(range(1, 7))  # every item still filed, once
    assert sorted(i for i, n in filed.items() if n == 2) == [5, 6]
    assert new.id == 2
    assert incidents[1].items == 4
    assert incidents[2].items == 2
    split = next(e for e in events if e.type == "split")
    assert split.incident_id == 1
    assert split.actor == "科长乙"
    assert split.data["into"] == 2
    opened = [e for e in events if e.type == "opened" and e.incident_id == 2]
    assert opened[0].data["split_from"] == 1
