"""Labels: a person's verdict on an item (relevant or not, topics, negative), for retraining."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select

from monitor.errors import ConfigError
from monitor.store.schema import items as items_t
from monitor.store.schema import labels as t


@dataclass(frozen=True, slots=True)
class Label:
    item_id: int
    relevant: bool
    topics: tuple[str, ...] | None  # None: not said
    negative: bool | None  # None: not said
    labelled_by: str
    labelled_at: datetime


@dataclass(frozen=True, slots=True)
class LabelledItem:
    label: Label
    title: str
    summary: str  # sanitised HTML, as stored


def add_label(conn: Connection, label: Label) -> None:
    exists = conn.execute(select(items_t.c.id).where(items_t.c.id == label.item_id)).first()
    if exists is None:
        raise ConfigError(f"no item #{label.item_id} in the store; `monitor items` lists them")
    conn.execute(insert(t).values(
        item_id=label.item_id, relevant=label.relevant,
        topics=None if label.topics is None else json.dumps(list(label.topics)),
        negative=label.negative, labelled_by=label.labelled_by, labelled_at=label.labelled_at))


def latest_labels(conn: Connection) -> list[LabelledItem]:
    """The newest label of every labelled item (a later label corrects an earlier one)."""
    newest = select(func.max(t.c.id)).group_by(t.c.item_id)
    query = (select(t, items_t.c.title, items_t.c.summary)
             .join(items_t, items_t.c.id == t.c.item_id)
             .where(t.c.id.in_(newest)).order_by(t.c.item_id))
    return [LabelledItem(_label(row), row.title, row.summary) for row in conn.execute(query)]


def _label(row: Row[Any]) -> Label:
    m = row._mapping
    return Label(item_id=m["item_id"], relevant=m["relevant"],
                 topics=None if m["topics"] is None else tuple(json.loads(m["topics"])),
                 negative=m["negative"], labelled_by=m["labelled_by"],
                 labelled_at=m["labelled_at"])
