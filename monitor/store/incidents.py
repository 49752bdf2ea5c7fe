"""Incidents, their items, stories and the append-only timeline."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, or_, select, update

from monitor.collect.normalize import normalize_url
from monitor.incidents.engine import Changes
from monitor.records import Incident, IncidentStatus, Item, Signal, TimelineEvent
from monitor.store.rows import (
    bind_processor,
    converter,
    insert_rows,
    placeholder,
    present,
    result_processor,
    rows_where,
    select_in,
    update_rows,
)
from monitor.store.schema import incident_items, incidents, item_stories, stage_cursors, timeline
from monitor.store.schema import items as items_t
from monitor.store.schema import signals as signals_t
from monitor.store.signals import signal_of_row

_JSON_FIELDS = ("topics", "keywords", "places")
_STATE_FIELDS = ("status", "level", "merged_into")


# The stages read and move their cursors at every batch: plain SQL (rows.py).
def get_cursor(conn: Connection, stage: str) -> int:
    mark = placeholder(conn)
    value = conn.exec_driver_sql(
        f"SELECT last_item_id FROM stage_cursors WHERE stage = {mark}",  # noqa: S608 (a mark)
        (stage,)).scalar()
    return int(value or 0)


def set_cursor(conn: Connection, stage: str, last_item_id: int) -> None:
    mark = placeholder(conn)
    done = conn.exec_driver_sql(
        f"UPDATE stage_cursors SET last_item_id = {mark} WHERE stage = {mark}",  # noqa: S608
        (last_item_id, stage))
    if done.rowcount == 0:
        conn.execute(insert(stage_cursors).values(stage=stage, last_item_id=last_item_id))


def analysed_after(conn: Connection, last_id: int, limit: int,
                   since: datetime | None = None) -> list[tuple[Item, Signal]]:
    """Items with their signals, after ``last_id`` in id order (analysis goes in id order,
    so these are exactly the ones the incident stage has not seen)."""
    query = (select(items_t, signals_t.c.health.label("s_health"),
                    *[c.label(f"s_{c.name}") for c in signals_t.c if c.name != "health"])
             .join(signals_t, signals_t.c.item_id == items_t.c.id)
             .where(items_t.c.id > last_id).order_by(items_t.c.id).limit(limit))
    if since is not None:
        query = query.where(items_t.c.fetched_at >= since)
    out = []
    for row in conn.execute(query):
        m = row._mapping
        item = Item(**{c.name: m[c.name] for c in items_t.c})
        out.append((item, signal_of_row({c.name: m[f"s_{c.name}"] for c in signals_t.c})))
    return out


def next_incident_id(conn: Connection) -> int:
    return int(conn.execute(select(func.max(incidents.c.id))).scalar() or 0) + 1


def apply_changes(conn: Connection, changes: Changes) -> None:
    """Write what the engine decided. Every batch and tick comes here, so its statements are
    plain SQL (rows.py)."""
    insert_rows(conn, [item_stories.c.item_id, item_stories.c.story_id], changes.stories)
    rows = [_incident_row(i) for i in changes.incidents.values()]
    known = present(conn, incidents.c.id, changes.incidents) if rows else set()
    convert = converter(conn, list(incidents.c))
    insert_rows(conn, list(incidents.c), [convert(row) for row in rows if row["id"] not in known])
    # The figures are the engine's; status and level are a person's, written only where this
    # batch changed them, so that a change made meanwhile by another process is not undone.
    # The id is never set: SQLite would then look for the rows referring to it.
    for with_state in (False, True):
        columns = [c for c in incidents.c if c.name != "id"
                   and (with_state or c.name not in _STATE_FIELDS)]
        updates = [row for row in rows if row["id"] in known
                   and (row["id"] in changes.states) is with_state]
        if updates:
            convert = converter(conn, [*columns, incidents.c.id])
            update_rows(conn, columns, incidents.c.id, [convert(row) for row in updates])
    added = bind_processor(conn, incident_items.c.added_at)
    insert_rows(conn, list(incident_items.c),
                [(item, incident, added(at)) for item, incident, at in changes.incident_items])
    if changes.moved_items:
        conn.execute(update(incident_items)
                     .where(incident_items.c.item_id == bindparam("i"),
                            incident_items.c.incident_id == bindparam("from_"))
                     .values(incident_id=bindparam("to")),
                     [{"i": item, "from_": source, "to": target}
                      for item, source, target in changes.moved_items])
    for source, target in changes.moved:
        conn.execute(update(incident_items).where(incident_items.c.incident_id == source)
                     .values(incident_id=target))
    append_timeline(conn, changes.timeline)


def append_timeline(conn: Connection, events: Sequence[TimelineEvent]) -> None:
    at = bind_processor(conn, timeline.c.at)
    insert_rows(conn, [timeline.c[n] for n in ("incident_id", "at", "type", "actor", "data")],
                [(e.incident_id, at(e.at), e.type, e.actor,
                  json.dumps(e.data, ensure_ascii=False)) for e in events])


def _incident_row(incident: Incident) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": incident.id, "status": incident.status.value, "title": incident.title,
        "opened_at": incident.opened_at, "updated_at": incident.updated_at,
        "first_item_id": incident.first_item_id, "first_source": incident.first_source,
        "region": incident.region, "items": incident.items, "stories": incident.stories,
        "sources": incident.sources, "negative_share": incident.negative_share,
        "heat": incident.heat, "proposed_level": incident.proposed_level,
        "level": incident.level, "parent_id": incident.parent_id,
        "merged_into": incident.merged_into}
    for name in _JSON_FIELDS:
        values[name] = json.dumps(list(getattr(incident, name)), ensure_ascii=False)
    return values


def _incident(row: Mapping[Any, Any]) -> Incident:
    m = dict(row)
    m["status"] = IncidentStatus(m["status"])
    for name in _JSON_FIELDS:
        m[name] = tuple(json.loads(m[name]))
    return Incident(**m)


def get_incident(conn: Connection, incident_id: int) -> Incident | None:
    found = rows_where(conn, incidents.c.id, incident_id)  # at every due action
    return _incident(found[0]) if found else None


def list_incidents(conn: Connection, statuses: Sequence[IncidentStatus] | None = None
                   ) -> list[Incident]:
    query = select(incidents).order_by(incidents.c.id)
    if statuses:
        query = query.where(incidents.c.status.in_([s.value for s in statuses]))
    return [_incident(row._mapping) for row in conn.execute(query)]


def opened_between(conn: Connection, since: datetime, until: datetime) -> list[Incident]:
    query = (select(incidents).where(incidents.c.opened_at >= since,
                                     incidents.c.opened_at < until).order_by(incidents.c.id))
    return [_incident(row._mapping) for row in conn.execute(query)]


def incident_by_item_url(conn: Connection, url: str) -> Incident | None:
    """The incident holding an item with this URL (compared normalised, as stored), following
    merges to the incident that absorbed it."""
    query = (select(incident_items.c.incident_id)
             .join(items_t, items_t.c.id == incident_items.c.item_id)
             .where(_url_is(url)).order_by(incident_items.c.item_id).limit(1))
    incident_id = conn.execute(query).scalar()
    incident = get_incident(conn, incident_id) if incident_id is not None else None
    while incident is not None and incident.merged_into is not None:
        incident = get_incident(conn, incident.merged_into)
    return incident


def item_ids_by_url(conn: Connection, urls: list[str]) -> list[int]:
    return list(conn.execute(select(items_t.c.id).where(or_(*map(_url_is, urls)))).scalars())


def stored_item_by_url(conn: Connection, url: str) -> Item | None:
    """The first item stored with this URL."""
    row = conn.execute(select(items_t).where(_url_is(url)).order_by(items_t.c.id)
                       .limit(1)).first()
    return Item(**{c.name: row._mapping[c.name] for c in items_t.c}) if row else None


def _url_is(url: str) -> Any:
    """An http(s) URL compared normalised, as stored; any other (a report entered by hand,
    intake:…) as it is, since it has no normal form and must not match every such item."""
    norm = normalize_url(url)
    return items_t.c.url_norm == norm if norm else items_t.c.url == url


def filed_item_ids(conn: Connection, incident_id: int) -> list[int]:
    return list(conn.execute(select(incident_items.c.item_id)
                             .where(incident_items.c.incident_id == incident_id)
                             .order_by(incident_items.c.item_id)).scalars())


def incidents_of_items(conn: Connection, item_ids: Sequence[int]) -> dict[int, int]:
    """item id → the incident holding it, for those of ``item_ids`` filed in one (a page of
    search results). A merge moves the items to the survivor; ``merged_into`` is followed
    all the same, as incident_by_item_url does, so that a link never lands on a merged one."""
    if not item_ids:
        return {}
    filed: dict[int, int] = {item: incident for item, incident in conn.execute(
        select(incident_items.c.item_id, incident_items.c.incident_id)
        .where(incident_items.c.item_id.in_(sorted(set(item_ids)))))}
    into: dict[int, int] = {}
    wanted = set(filed.values())
    while wanted:  # one query per step of a chain of merges, each incident asked once
        step: dict[int, int] = {old: new for old, new in conn.execute(
            select(incidents.c.id, incidents.c.merged_into).where(
                incidents.c.id.in_(sorted(wanted)), incidents.c.merged_into.is_not(None)))}
        into.update(step)
        wanted = set(step.values()) - set(into)
    for item, incident in filed.items():
        for _ in range(len(into)):  # bounded: a loop of merges must not hang the page
            if incident not in into:
                break
            incident = into[incident]
        filed[item] = incident
    return filed


def incident_items_since(conn: Connection, since: datetime) -> dict[int, int]:
    """item id → incident id for items filed at or after ``since``."""
    query = select(incident_items.c.item_id, incident_items.c.incident_id).join(
        items_t, items_t.c.id == incident_items.c.item_id).where(items_t.c.fetched_at >= since)
    return {item_id: incident_id for item_id, incident_id in conn.execute(query)}


def dismissed_heat(conn: Connection, incident_id: int) -> float | None:
    """The heat recorded by the latest dismissal, if that is the incident's last word."""
    query = (select(timeline.c.data).where(timeline.c.incident_id == incident_id,
                                           timeline.c.type == "dismissed")
             .order_by(timeline.c.id.desc()).limit(1))
    data = conn.execute(query).scalar()
    return float(json.loads(data).get("heat") or 1.0) if data else None


def newest_event_id(conn: Connection) -> int:
    return int(conn.exec_driver_sql("SELECT MAX(id) FROM timeline").scalar() or 0)


def timeline_after(conn: Connection, last_id: int = 0, limit: int = 10_000, *,
                   until: int | None = None, types: Sequence[str] | None = None
                   ) -> list[TimelineEvent]:
    """Events after ``last_id`` (up to ``until``, of the given types), oldest first. Read
    after every batch by the replay and the response stage: plain SQL (rows.py)."""
    if types is not None and not types:
        return []
    sql = "SELECT id, incident_id, at, type, actor, data FROM timeline WHERE id > ?"
    params: list[Any] = [last_id]
    if until is not None:
        sql += " AND id <= ?"
        params.append(until)
    if types is not None:
        sql += f" AND type IN ({', '.join('?' * len(types))})"
        params.extend(types)
    at = result_processor(conn, timeline.c.at)
    rows = conn.exec_driver_sql((sql + " ORDER BY id LIMIT ?").replace("?", placeholder(conn)),
                                (*params, limit))
    return [TimelineEvent(incident_id=incident_id, at=at(when), type=kind, actor=actor,
                          data=json.loads(data), id=event_id)
            for event_id, incident_id, when, kind, actor, data in rows]


def incident_states(conn: Connection, ids: Sequence[int]) -> dict[int, tuple[str, str | None]]:
    """id → (status, level) as stored."""
    return {row[0]: (row[1], row[2]) for row in select_in(
        conn, "SELECT id, status, level FROM incidents", incidents.c.id, ids)}


def timeline_of(conn: Connection, incident_id: int) -> list[TimelineEvent]:
    query = select(timeline).where(timeline.c.incident_id == incident_id).order_by(timeline.c.id)
    return [TimelineEvent(incident_id=r.incident_id, at=r.at, type=r.type, actor=r.actor,
                          data=json.loads(r.data), id=r.id) for r in conn.execute(query)]


def incident_plans(conn: Connection, incident_id: int) -> set[str]:
    """The watch plans any item of the incident hit."""
    return set(incident_evidence(conn, incident_id)[0])


def incident_evidence(conn: Connection, incident_id: int
                      ) -> tuple[dict[str, list[str]], float]:
    """Why the incident fired: the watch plans its items hit with the words matched, and the
    highest health score the classifier gave one of its items."""
    query = (select(signals_t.c.plans, signals_t.c.health_score)
             .join(incident_items, incident_items.c.item_id == signals_t.c.item_id)
             .where(incident_items.c.incident_id == incident_id))
    plans: dict[str, list[str]] = {}
    best = 0.0
    for text, score in conn.execute(query):
        best = max(best, float(score))
        for plan in json.loads(text):
            words = plans.setdefault(plan["name"], [])
            words.extend(w for w in plan["matched"] if w not in words)
    return plans, best


def incident_item_rows(conn: Connection, incident_id: int) -> list[dict[str, Any]]:
    """The incident's items, oldest first: id, title, url, source, when it happened, when it
    was fetched ("seen"), its negativity and whether it copies another story."""
    query = (select(items_t.c.id, items_t.c.title, items_t.c.url, items_t.c.source,
                    items_t.c.published_at, items_t.c.fetched_at, signals_t.c.negative,
                    item_stories.c.story_id)
             .join(incident_items, incident_items.c.item_id == items_t.c.id)
             .join(signals_t, signals_t.c.item_id == items_t.c.id)
             .outerjoin(item_stories, item_stories.c.item_id == items_t.c.id)
             .where(incident_items.c.incident_id == incident_id).order_by(items_t.c.id))
    rows = []
    for r in conn.execute(query):
        published, fetched = r.published_at, r.fetched_at
        at = published if published is not None and published <= fetched else fetched
        rows.append({"id": r.id, "title": r.title, "url": r.url, "source": r.source, "at": at,
                     "seen": fetched, "negative": r.negative,
                     "copy": r.story_id not in (None, r.id)})
    rows.sort(key=lambda row: (row["at"], row["id"]))
    return rows


def recent_counts(conn: Connection, incident_ids: Sequence[int], now: datetime,
                  hours: int = 6) -> dict[int, tuple[int, int]]:
    """incident id → (items in the last ``hours``, items in the ``hours`` before), for the
    board's heat trend."""
    mid, start = now - timedelta(hours=hours), now - timedelta(hours=2 * hours)
    found: dict[int, tuple[int, int]] = {}
    for first in range(0, len(incident_ids), 400):
        query = (select(incident_items.c.incident_id, items_t.c.fetched_at)
                 .join(items_t, items_t.c.id == incident_items.c.item_id)
                 .where(incident_items.c.incident_id.in_(incident_ids[first:first + 400]),
                        items_t.c.fetched_at >= start, items_t.c.fetched_at < now))
        for incident_id, at in conn.execute(query):
            last, before = found.get(incident_id, (0, 0))
            found[incident_id] = (last + 1, before) if at >= mid else (last, before + 1)
    return found


def latest_event_id(conn: Connection) -> int:
    return int(conn.execute(select(func.max(timeline.c.id))).scalar() or 0)


def reflares_of(conn: Connection, incident_id: int) -> list[int]:
    """Incidents opened as this one flaring up again (次生舆情)."""
    query = select(incidents.c.id).where(incidents.c.parent_id == incident_id)
    return [int(i) for i in conn.execute(query).scalars()]


def awaiting_evaluation(conn: Connection, since: datetime, limit: int = 50) -> list[int]:
    """Incidents closed since ``since`` whose evaluation nobody has recorded yet, newest
    first: an evaluator's worklist."""
    evaluated = select(timeline.c.incident_id).where(timeline.c.type == "evaluated")
    query = (select(incidents.c.id)
             .where(incidents.c.status == IncidentStatus.CLOSED.value,
                    incidents.c.updated_at >= since, incidents.c.id.not_in(evaluated))
             .order_by(incidents.c.updated_at.desc()).limit(limit))
    return [int(i) for i in conn.execute(query).scalars()]
