"""A burst of due actions (a restart after an outage, many incidents opened at once) is done
in short trips to the store's thread, so that other stages' statements wait behind one trip,
not behind the whole burst; and all of it is still done in one catch-up."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import Connection, func, select

from monitor.clock import SimClock
from monitor.collect.normalize import normalize_title, normalize_url
from monitor.incidents.engine import Changes
from monitor.records import Incident, IncidentStatus, Item, TimelineEvent
from monitor.response.clocks import Clocks
from monitor.response.policy import load_policy
from monitor.response.roster import load_roster
from monitor.response.stage import ACTIONS_PER_TRIP, ResponseStage
from monitor.store import Store
from monitor.store.incidents import apply_changes
from monitor.store.items import insert_items
from monitor.store.response import due_action_ids
from monitor.store.schema import due_actions
from tests.incidents.conftest import START

INCIDENTS = 2 * ACTIONS_PER_TRIP + 20


def _open_incidents(store: Store) -> None:
    """Confirmed level-II incidents, all opened now: each one's first notice is due at once."""
    items = [Item(source="s", ident=f"u:https://b.example/{n}", guid=None,
                  url=f"https://b.example/{n}", url_norm=normalize_url(f"https://b.example/{n}"),
                  title=f"事件{n}", title_norm=normalize_title(f"事件{n}"), summary="",
                  published_at=None, fetched_at=START, content_hash=f"{n:064x}")
             for n in range(INCIDENTS)]
    stored = store.transaction(lambda c: insert_items(c, items, START)).new
    changes = Changes()
    for n, item in enumerate(stored, 1):
        incident = Incident(id=n, status=IncidentStatus.CONFIRMED, title=item.title,
                            opened_at=START, updated_at=START, first_item_id=item.id or 0,
                            first_source=item.source, proposed_level="II", level="II")
        changes.incidents[n] = incident
        changes.timeline.append(TimelineEvent(n, START, "opened", "system",
                                              {"title": item.title, "level": "II"}))
    store.transaction(lambda c: apply_changes(c, changes))


def _done(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(due_actions)
                            .where(due_actions.c.status == "done")).scalar_one())


def test_a_burst_is_done_in_trips_and_whole(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    stage = ResponseStage(store, Clocks(load_policy(), load_roster()), SimClock(START))

    async def burst() -> tuple[int, int]:
        catching_up = asyncio.create_task(stage.catch_up())
        await asyncio.sleep(0)  # its first trip is on the store's thread now
        seen = await store.run(_done)  # a statement of another stage, meanwhile
        await catching_up
        return seen, await store.run(_done)

    try:
        _open_incidents(store)
        seen, done = asyncio.run(burst())
        still_due = store.transaction(lambda c: due_action_ids(c, START))
    finally:
        store.close()
    assert seen == ACTIONS_PER_TRIP
    assert done == INCIDENTS
    assert still_due == []
