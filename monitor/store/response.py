"""Clocks, deadlines, due actions and the outbox."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select, update

from monitor.records import Deadline, DueAction, TimelineEvent
from monitor.store.rows import (
    bind_processor,
    converter,
    insert_rows,
    placeholder,
    result_processor,
    rows_where,
    update_rows,
)
from monitor.store.schema import clocks, deadlines, due_actions, items, outbox, timeline


@dataclass(frozen=True, slots=True)
class ClockRow:
    incident_id: int
    policy: str
    start_rule: str
    detected_at: datetime
    first_item_at: datetime
    occurred_at: datetime | None
    start_at: datetime
    level: str
    level_confirmed: bool
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    stopped: str | None = None


def get_clock(conn: Connection, incident_id: int) -> ClockRow | None:
    found = rows_where(conn, clocks.c.incident_id, incident_id)  # at every event and action
    return ClockRow(**found[0]) if found else None


# Every event and due action writes some of these: plain SQL (rows.py).
_CLOCK = [clocks.c[name] for name in ClockRow.__slots__]
_DEADLINE = [deadlines.c[name] for name in ("incident_id", "key", "label", "met_by", "hard",
                                            "due_at", "status", "met_at", "missed_at")]
_ACTION = [due_actions.c[name] for name in ("incident_id", "kind", "deadline_key", "step",
                                            "due_at", "status")]
_OUTBOX = [outbox.c[name] for name in ("key", "incident_id", "created_at", "kind", "person",
                                       "role", "channels", "data", "status", "attempts",
                                       "next_attempt_at")]


def put_clock(conn: Connection, clock: ClockRow, new: bool) -> None:
    row = converter(conn, _CLOCK)({name: getattr(clock, name) for name in ClockRow.__slots__})
    if new:
        insert_rows(conn, _CLOCK, [row])
    else:  # every column but the key, then the key
        update_rows(conn, _CLOCK[1:], clocks.c.incident_id, [(*row[1:], row[0])])


def _deadline(row: Mapping[Any, Any]) -> Deadline:
    m = dict(row)
    m["met_by"] = tuple(json.loads(m["met_by"]))
    return Deadline(**m)


def deadlines_of(conn: Connection, incident_id: int) -> list[Deadline]:
    found = rows_where(conn, deadlines.c.incident_id, incident_id)
    return [_deadline(m) for m in sorted(found, key=lambda m: (m["due_at"], m["id"]))]


def put_deadline(conn: Connection, deadline: Deadline) -> None:
    row = converter(conn, _DEADLINE)({
        "incident_id": deadline.incident_id, "key": deadline.key, "label": deadline.label,
        "met_by": json.dumps(list(deadline.met_by)), "hard": deadline.hard,
        "due_at": deadline.due_at, "status": deadline.status, "met_at": deadline.met_at,
        "missed_at": deadline.missed_at})
    if deadline.id is None:
        insert_rows(conn, _DEADLINE, [row])
    else:
        update_rows(conn, _DEADLINE, deadlines.c.id, [(*row, deadline.id)])


def add_actions(conn: Connection, actions: Sequence[DueAction]) -> None:
    convert = converter(conn, _ACTION)
    insert_rows(conn, _ACTION, [convert({
        "incident_id": a.incident_id, "kind": a.kind, "deadline_key": a.deadline_key,
        "step": a.step, "due_at": a.due_at, "status": "pending"}) for a in actions])


def cancel_actions(conn: Connection, incident_id: int, *, kind: str | None = None,
                   deadline_key: str | None = None) -> int:
    query = update(due_actions).where(due_actions.c.incident_id == incident_id,
                                      due_actions.c.status == "pending")
    if kind is not None:
        query = query.where(due_actions.c.kind == kind)
    if deadline_key is not None:
        query = query.where(due_actions.c.deadline_key == deadline_key)
    return conn.execute(query.values(status="cancelled")).rowcount


def _action(row: Row[Any]) -> DueAction:
    return DueAction(**row._mapping)


def pending_actions(conn: Connection, incident_id: int | None = None) -> list[DueAction]:
    query = select(due_actions).where(due_actions.c.status == "pending")
    if incident_id is not None:
        query = query.where(due_actions.c.incident_id == incident_id)
    return [_action(r) for r in conn.execute(query.order_by(due_actions.c.due_at,
                                                            due_actions.c.id))]


# The response stage asks these two after every batch, mostly to hear "nothing yet": plain
# SQL (rows.py), in the order of the index on (status, due_at).
def due_action_ids(conn: Connection, now: datetime, limit: int = 500) -> list[int]:
    mark = placeholder(conn)
    at = bind_processor(conn, due_actions.c.due_at)(now)
    sql = ("SELECT id FROM due_actions WHERE status = 'pending' "  # noqa: S608 (marks only)
           f"AND due_at <= {mark} ORDER BY due_at, id LIMIT {mark}")
    return [row[0] for row in conn.exec_driver_sql(sql, (at, limit))]


def next_due_at(conn: Connection) -> datetime | None:
    due = conn.exec_driver_sql("SELECT due_at FROM due_actions WHERE status = 'pending' "
                               "ORDER BY due_at LIMIT 1").scalar()
    return None if due is None else result_processor(conn, due_actions.c.due_at)(due)


def claim(conn: Connection, action_id: int, now: datetime) -> DueAction | None:
    """Take the action for this transaction; None when it is no longer pending (another
    process did it, or it was cancelled). The conditional UPDATE is what makes two
    processes on one database never both act on it."""
    mark = placeholder(conn)
    sql = (f"UPDATE due_actions SET status = 'done', done_at = {mark} "  # noqa: S608 (marks)
           f"WHERE id = {mark} AND status = 'pending'")
    done = conn.exec_driver_sql(sql, (bind_processor(conn, due_actions.c.done_at)(now),
                                      action_id))
    if done.rowcount != 1:
        return None
    return DueAction(**rows_where(conn, due_actions.c.id, action_id)[0])


def add_outbox(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    convert = converter(conn, _OUTBOX)
    insert_rows(conn, _OUTBOX, [convert({
        **row, "channels": json.dumps(row["channels"], ensure_ascii=False),
        "data": json.dumps(row["data"], ensure_ascii=False), "status": "pending",
        "attempts": 0}) for row in rows])


def milestones_of(conn: Connection, incident_id: int) -> list[TimelineEvent]:
    query = (select(timeline).where(timeline.c.incident_id == incident_id,
                                    timeline.c.type == "milestone_recorded")
             .order_by(timeline.c.id))
    return [TimelineEvent(incident_id=r.incident_id, at=r.at, type=r.type, actor=r.actor,
                          data=json.loads(r.data), id=r.id) for r in conn.execute(query)]


def item_time(conn: Connection, item_id: int) -> datetime | None:
    """When an item happened: its publication time, else when it was fetched."""
    row = conn.execute(select(items.c.published_at, items.c.fetched_at)
                       .where(items.c.id == item_id)).first()
    if row is None:
        return None
    published: datetime | None = row.published_at
    fetched: datetime = row.fetched_at
    return published if published is not None and published <= fetched else fetched


def pending_deadlines(conn: Connection, incident_ids: list[int]) -> dict[int, list[Deadline]]:
    """Pending deadlines of many incidents in one query, soonest first."""
    found: dict[int, list[Deadline]] = {}
    for start in range(0, len(incident_ids), 400):
        query = (select(deadlines).where(deadlines.c.status == "pending",
                                         deadlines.c.incident_id.in_(
                                             incident_ids[start:start + 400]))
                 .order_by(deadlines.c.due_at, deadlines.c.id))
        for row in conn.execute(query):
            found.setdefault(row.incident_id, []).append(_deadline(row._mapping))
    return found
