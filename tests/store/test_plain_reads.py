"""The reads the replay and the response stage make after every batch or action, in plain
SQL: the timeline after a cursor (up to a bound, of some types), the due actions, a clock, a
claimed action and deadlines, written and read with SQLAlchemy's own conversions (times back as
aware UTC datetimes)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, timedelta
from pathlib import Path

from monitor.clock import SHANGHAI
from monitor.incidents.engine import Changes
from monitor.records import Deadline, DueAction, Incident, IncidentStatus, Item
from monitor.store import Store
from monitor.store.incidents import apply_changes, newest_event_id, timeline_after
from monitor.store.items import insert_items
from monitor.store.response import (
    ClockRow,
    add_actions,
    claim,
    deadlines_of,
    due_action_ids,
    get_clock,
    next_due_at,
    put_clock,
    put_deadline,
)
from tests.incidents.conftest import START


def _store_with_events(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    item = Item(source="s", ident="u:x", guid=None, url="https://x.example/1",
                url_norm="https://x.example/1", title="t", title_norm="t", summary="",
                published_at=None, fetched_at=START, content_hash="0" * 64)
    item_id = store.transaction(lambda c: insert_items(c, [item], START)).new[0].id or 0
    changes = Changes()
    incident = Incident(1, IncidentStatus.OPEN, "凤庆县一医院纠纷", START, START, item_id, "s")
    changes.incidents[1] = incident
    for minutes, kind in enumerate(["opened", "item_added", "level_proposed", "item_added"]):
        changes.event(incident, START + timedelta(minutes=minutes), kind, level="IV")
    store.transaction(lambda c: apply_changes(c, changes))
    return store


def test_the_timeline_after_a_cursor_up_to_a_bound_and_of_some_types(tmp_path: Path) -> None:
    store = _store_with_events(tmp_path)
    try:
        every = store.transaction(timeline_after)
        newest = store.transaction(newest_event_id)
        after_first = store.transaction(lambda c: timeline_after(c, every[0].id or 0))
        bounded = store.transaction(lambda c: timeline_after(
            c, 0, 10, until=every[2].id, types=("opened", "level_proposed")))
        limited = store.transaction(lambda c: timeline_after(c, 0, 2))
        none_wanted = store.transaction(lambda c: timeline_after(c, types=()))
    finally:
        store.close()
    assert [e.type for e in every] == ["opened", "item_added", "level_proposed", "item_added"]
    assert newest == every[-1].id
    assert after_first == every[1:]
    assert [e.type for e in bounded] == ["opened", "level_proposed"]
    assert limited == every[:2]
    assert none_wanted == []
    assert every[2].at == START + timedelta(minutes=2)
    assert every[2].at.tzinfo is not None
    assert every[2].data == {"level": "IV"}
    assert (every[0].incident_id, every[0].actor) == (1, "system")


def test_due_actions_by_time_and_the_next_due_time(tmp_path: Path) -> None:
    store = _store_with_events(tmp_path)
    soon, later = START + timedelta(hours=1), START + timedelta(hours=3)
    try:
        nothing = store.transaction(next_due_at)
        store.transaction(lambda c: add_actions(c, [
            DueAction(1, "check", later, deadline_key="publish"),
            DueAction(1, "escalate", soon, step=1)]))
        due_now = store.transaction(lambda c: due_action_ids(c, START))
        due_soon = store.transaction(lambda c: due_action_ids(c, soon.astimezone(SHANGHAI)))
        due_all = store.transaction(lambda c: due_action_ids(c, later))
        first_due = store.transaction(next_due_at)
    finally:
        store.close()
    assert nothing is None
    assert due_now == []
    assert due_soon == [2]
    assert due_all == [2, 1]
    assert first_due == soon
    assert first_due is not None
    assert first_due.tzinfo == UTC


def test_a_clock_and_a_claimed_action_read_back_as_written(tmp_path: Path) -> None:
    """Read by plain SQL with SQLAlchemy's own conversions: flags as booleans, times aware."""
    store = _store_with_events(tmp_path)
    clock = ClockRow(1, "{}", "detected", START, START, None, START, "II", True,
                     acknowledged_at=START + timedelta(minutes=5), acknowledged_by="值班员")
    due = START + timedelta(hours=1)
    try:
        store.transaction(lambda c: put_clock(c, clock, new=True))
        back = store.transaction(lambda c: get_clock(c, 1))
        missing = store.transaction(lambda c: get_clock(c, 2))
        store.transaction(lambda c: add_actions(c, [DueAction(1, "escalate", due, step=1)]))
        claimed = store.transaction(lambda c: claim(c, 1, due + timedelta(seconds=3)))
        again = store.transaction(lambda c: claim(c, 1, due + timedelta(seconds=4)))
    finally:
        store.close()
    assert back == clock
    assert back is not None
    assert back.level_confirmed is True
    assert missing is None
    assert claimed == DueAction(1, "escalate", due, step=1, status="done",
                                done_at=due + timedelta(seconds=3), id=1)
    assert again is None


def test_deadlines_are_written_updated_and_read_soonest_first(tmp_path: Path) -> None:
    store = _store_with_events(tmp_path)
    release = Deadline(1, "release", "权威信息发布", ("release",), True,
                       START + timedelta(hours=5))
    report = Deadline(1, "internal_report", "内部报告", ("internal_report",), False,
                      START + timedelta(hours=2))
    met = START + timedelta(hours=1)
    try:
        store.transaction(lambda c: [put_deadline(c, d) for d in (release, report)])
        written = store.transaction(lambda c: deadlines_of(c, 1))
        store.transaction(lambda c: put_deadline(c, replace(written[0], status="met",
                                                            met_at=met)))
        updated = store.transaction(lambda c: deadlines_of(c, 1))
        other = store.transaction(lambda c: deadlines_of(c, 2))
    finally:
        store.close()
    assert written == [replace(report, id=2), replace(release, id=1)]
    assert updated == [replace(report, id=2, status="met", met_at=met), replace(release, id=1)]
    assert updated[1].hard is True
    assert other == []
