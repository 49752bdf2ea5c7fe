"""Signals: what analysis learned about each item (one row per item), and which items still
wait for analysis."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, select

from monitor.records import Item, PlanMatch, Signal, TopicScore
from monitor.store.rows import bind_processor, insert_rows
from monitor.store.schema import items as items_t
from monitor.store.schema import signals as t


def unanalysed(conn: Connection, limit: int, after: int = 0) -> list[Item]:
    """Items without a signal, oldest first; ``after``: an id below which all are analysed."""
    query = (select(items_t).outerjoin(t, t.c.item_id == items_t.c.id)
             .where(t.c.item_id.is_(None), items_t.c.id > after)
             .order_by(items_t.c.id).limit(limit))
    return [Item(**row._mapping) for row in conn.execute(query)]


def put_signals(conn: Connection, signals: Sequence[Signal], now: datetime) -> None:
    put_signal_values(conn, [(s.item_id or 0, signal_values(s)) for s in signals], now)


def signal_values(s: Signal) -> tuple[Any, ...]:
    """A signal's columns but its item and time, as stored."""
    return (s.health, s.health_score,
            json.dumps([{"key": x.key, "score": x.score} for x in s.topics]), s.negative,
            json.dumps([{"name": p.name, "matched": list(p.matched)} for p in s.plans],
                       ensure_ascii=False),
            json.dumps(list(s.places), ensure_ascii=False), s.model, s.risk, _cues(s))


def _cues(s: Signal) -> str:
    cues = {k: list(v) for k, v in (("risk", s.risk_terms), ("tone", s.tone_terms)) if v}
    return json.dumps(cues, ensure_ascii=False) if cues else "{}"


def put_signal_values(conn: Connection, rows: Sequence[tuple[int, tuple[Any, ...]]],
                      now: datetime) -> None:
    """(item id, its signal_values) pairs, analysed at ``now``."""
    at = bind_processor(conn, t.c.analysed_at)(now)
    insert_rows(conn, _COLUMNS, [(item_id, *values, at) for item_id, values in rows])


_COLUMNS = [t.c[name] for name in ("item_id", "health", "health_score", "topics", "negative",
                                   "plans", "places", "model", "risk", "cues", "analysed_at")]


def backlog(conn: Connection) -> int:
    """How many items wait for analysis."""
    query = (select(func.count()).select_from(items_t).outerjoin(t, t.c.item_id == items_t.c.id)
             .where(t.c.item_id.is_(None)))
    return int(conn.execute(query).scalar_one())


def signals_for(conn: Connection, item_ids: Sequence[int]) -> dict[int, Signal]:
    found: dict[int, Signal] = {}
    for start in range(0, len(item_ids), 400):
        chunk = item_ids[start:start + 400]
        for row in conn.execute(select(t).where(t.c.item_id.in_(chunk))):
            found[row.item_id] = _signal(row)
    return found


def _signal(row: Row[Any]) -> Signal:
    return signal_of_row(row._mapping)


def signal_of_row(row: Any) -> Signal:
    """A Signal from a mapping of the signals table's columns."""
    cues = json.loads(row["cues"])
    return Signal(
        health=row["health"], health_score=row["health_score"],
        topics=tuple(TopicScore(x["key"], x["score"]) for x in json.loads(row["topics"])),
        negative=row["negative"],
        plans=tuple(PlanMatch(p["name"], tuple(p["matched"])) for p in json.loads(row["plans"])),
        places=tuple(json.loads(row["places"])), model=row["model"], item_id=row["item_id"],
        risk=row["risk"], risk_terms=tuple(cues.get("risk", ())),
        tone_terms=tuple(cues.get("tone", ())))
