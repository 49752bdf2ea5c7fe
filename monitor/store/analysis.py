"""The figures of one incident's 事件分析, computed in SQL where the volume is: an incident may
hold thousands of items among hundreds of thousands stored, so counts per hour, per source and
per original are grouped by the database, and only capped lists of items come back as rows.

An item "happened" at its publication time, or when it was fetched if it has none or claims a
time after the fetch (as incident_item_rows says). An item copies another (转载) when the
collector linked it as a repost (repost_of), or when the incident stage put it in a story whose
first item is another one; its original is that item."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    Float,
    Integer,
    Select,
    String,
    and_,
    case,
    func,
    literal_column,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from monitor.records import TimelineEvent
from monitor.store.schema import incident_items, item_stories, items, signals, timeline

HAPPENED = case((and_(items.c.published_at.is_not(None),
                      items.c.published_at <= items.c.fetched_at), items.c.published_at),
                else_=items.c.fetched_at)
ORIGINAL = func.coalesce(items.c.repost_of,
                         case((item_stories.c.story_id != items.c.id, item_stories.c.story_id)),
                         type_=Integer)


@dataclass(frozen=True)
class Post:
    """One item as the analysis lists it."""

    id: int
    title: str
    url: str
    source: str
    at: datetime
    negative: float | None  # None until the analysis stage has read it
    original: int | None  # the item it copies, None for an original
    reposts: int = 0  # items of the incident copying it


@dataclass(frozen=True)
class Hour:
    at: datetime  # the hour's start, UTC
    items: int
    reposts: int
    negative_sum: float
    scored: int  # items with a negativity (analysed)


@dataclass(frozen=True)
class Carrier:
    """A source that carried the incident: how many of its items, the first, and its first
    repost (None when all its items are originals)."""

    source: str
    items: int
    first: Post
    first_repost: Post | None


def _base(incident_id: int, *columns: Any) -> Select[Any]:
    """``columns`` over the incident's items, with their signals and stories when present
    (an item entered by hand is filed before the analysis stage has read it)."""
    return (select(*columns)
            .select_from(incident_items)
            .join(items, items.c.id == incident_items.c.item_id)
            .outerjoin(signals, signals.c.item_id == items.c.id)
            .outerjoin(item_stories, item_stories.c.item_id == items.c.id)
            .where(incident_items.c.incident_id == incident_id))


_POST_COLUMNS = (items.c.id, items.c.title, items.c.url, items.c.source,
                 HAPPENED.label("at"), signals.c.negative, ORIGINAL.label("original"))


def _post(row: Any, reposts: int = 0) -> Post:
    m = row._mapping
    return Post(m["id"], m["title"], m["url"], m["source"], m["at"], m["negative"],
                m["original"], reposts)


def _hour_of(conn: Connection, at: ColumnElement[Any]) -> ColumnElement[Any]:
    if conn.dialect.name == "sqlite":  # times are stored as 'YYYY-MM-DD HH:MM:SS.ffffff' UTC
        return func.substr(at, 1, 13, type_=String)
    return func.date_trunc("hour", at, type_=DateTime)  # PostgreSQL: naive UTC timestamps


def _hour_value(value: Any) -> datetime:
    if isinstance(value, str):
        return datetime.strptime(value, "%Y-%m-%d %H").replace(tzinfo=UTC)
    hour: datetime = value
    return hour.replace(tzinfo=UTC) if hour.tzinfo is None else hour.astimezone(UTC)


def hourly(conn: Connection, incident_id: int) -> list[Hour]:
    """Items per hour, oldest first; hours without items are not rows."""
    hour = _hour_of(conn, HAPPENED).label("hour")
    query = (_base(incident_id, hour, func.count().label("n"),
                   func.count(ORIGINAL).label("reposts"),
                   func.coalesce(func.sum(signals.c.negative), 0.0, type_=Float).label("neg"),
                   func.count(signals.c.negative).label("scored"))
             .group_by(literal_column("hour")).order_by(literal_column("hour")))
    return [Hour(_hour_value(r.hour), int(r.n), int(r.reposts), float(r.neg), int(r.scored))
            for r in conn.execute(query)]


def version(conn: Connection, incident_id: int) -> tuple[Any, ...]:
    """What changes whenever the analysis of the incident would: its newest timeline event
    (items filed, deadlines, milestones, merges, splits all write one), how many items it
    holds and how many of them the analysis stage has read (an item entered by hand is filed
    before its signal is written). Two index lookups and a count."""
    newest = (select(func.max(timeline.c.id)).where(timeline.c.incident_id == incident_id)
              .scalar_subquery())
    query = (select(newest, func.count(), func.count(signals.c.item_id))
             .select_from(incident_items)
             .outerjoin(signals, signals.c.item_id == incident_items.c.item_id)
             .where(incident_items.c.incident_id == incident_id))
    row = conn.execute(query).one()
    return tuple(row)


def carriers(conn: Connection, incident_id: int) -> list[Carrier]:
    """Every source that carried the incident, in the order it first did. The database
    groups the items by source and kind (original or repost); the first item of each group
    is then found by joining back on that time (a window function sorting every item took
    three times as long on SQLite)."""
    is_copy = case((ORIGINAL.is_(None), 0), else_=1)
    groups = (_base(incident_id, items.c.source.label("g_source"), is_copy.label("g_copy"),
                    func.min(HAPPENED).label("g_first"), func.count().label("g_n"))
              .group_by(items.c.source, is_copy).subquery())
    query = (_base(incident_id, *_POST_COLUMNS, groups.c.g_copy, groups.c.g_n)
             .join(groups, and_(groups.c.g_source == items.c.source,
                                groups.c.g_copy == is_copy, groups.c.g_first == HAPPENED)))
    found: dict[str, tuple[int, Post | None, Post | None]] = {}
    counted: set[tuple[str, int]] = set()
    for row in conn.execute(query):
        post = _post(row)
        count, original, repost = found.get(post.source, (0, None, None))
        if (post.source, row.g_copy) not in counted:  # two items at the same first time
            counted.add((post.source, row.g_copy))
            count += int(row.g_n)
        if row.g_copy:
            repost = post if repost is None or post.id < repost.id else repost
        else:
            original = post if original is None or post.id < original.id else original
        found[post.source] = (count, original, repost)
    out = []
    for source, (count, original, repost) in found.items():
        firsts = [p for p in (original, repost) if p is not None]
        out.append(Carrier(source, count, min(firsts, key=lambda p: (p.at, p.id)), repost))
    return sorted(out, key=lambda c: (c.first.at, c.first.id))


def most_reposted(conn: Connection, incident_id: int, limit: int) -> list[Post]:
    """The originals most copied within the incident, most first."""
    original = ORIGINAL.label("original_id")
    counted = (_base(incident_id, original, func.count().label("n"))
               .where(ORIGINAL.is_not(None)).group_by(literal_column("original_id"))
               .order_by(func.count().desc(), literal_column("original_id")).limit(limit))
    counts = {int(r.original_id): int(r.n) for r in conn.execute(counted)}
    if not counts:
        return []
    # an original may lie outside the incident (split off, or never filed): read it directly
    query = (select(*_POST_COLUMNS).select_from(items)
             .outerjoin(signals, signals.c.item_id == items.c.id)
             .outerjoin(item_stories, item_stories.c.item_id == items.c.id)
             .where(items.c.id.in_(list(counts))))
    posts = [_post(r, counts[int(r.id)]) for r in conn.execute(query)]
    return sorted(posts, key=lambda p: (-p.reposts, p.id))


def most_negative(conn: Connection, incident_id: int, limit: int) -> list[Post]:
    """The most negative originals (a copy says what its original said)."""
    query = (_base(incident_id, *_POST_COLUMNS)
             .where(ORIGINAL.is_(None), signals.c.negative.is_not(None))
             .order_by(signals.c.negative.desc(), HAPPENED, items.c.id).limit(limit))
    return [_post(r) for r in conn.execute(query)]


def from_sources(conn: Connection, incident_id: int, sources: Collection[str],
                 limit: int) -> list[Post]:
    """The incident's items from these sources (government sites: the official responses),
    oldest first."""
    if not sources:
        return []
    query = (_base(incident_id, *_POST_COLUMNS).where(items.c.source.in_(sorted(sources)))
             .order_by(HAPPENED, items.c.id).limit(limit))
    return [_post(r) for r in conn.execute(query)]


def regions(conn: Connection, incident_id: int, region_of: Mapping[str, str]
            ) -> tuple[Counter[str], int]:
    """Items naming each district or county (once per item, whichever of its places name
    it), and how many items name none. The database counts the items of each list of places
    (reposts repeat their original's), so each distinct list is read once."""
    query = (_base(incident_id, signals.c.places, func.count().label("n"))
             .group_by(signals.c.places))
    counts: Counter[str] = Counter()
    unnamed = 0
    for text, n in conn.execute(query):
        named = {region_of[p] for p in json.loads(text) if p in region_of} if text else set()
        for region in named:
            counts[region] += int(n)
        unnamed += 0 if named else int(n)
    return counts, unnamed


def titles(conn: Connection, incident_id: int, limit: int) -> list[tuple[str, int]]:
    """The incident's distinct titles with how many items carry each, commonest first."""
    query = (_base(incident_id, items.c.title, func.count().label("n"))
             .group_by(items.c.title).order_by(func.count().desc(), items.c.title).limit(limit))
    return [(r.title, int(r.n)) for r in conn.execute(query)]


def events_of(conn: Connection, incident_id: int, types: Collection[str] | None = None
              ) -> list[TimelineEvent]:
    """The incident's timeline, without the item_added events unless asked for (one per
    item: thousands for a large incident, and the items tell them better)."""
    query = select(timeline).where(timeline.c.incident_id == incident_id)
    query = (query.where(timeline.c.type.in_(sorted(types))) if types is not None
             else query.where(timeline.c.type != "item_added"))
    return [TimelineEvent(incident_id=r.incident_id, at=r.at, type=r.type, actor=r.actor,
                          data=json.loads(r.data), id=r.id)
            for r in conn.execute(query.order_by(timeline.c.id))]


def page_items(conn: Connection, incident_id: int, originals: int, last: int
               ) -> list[dict[str, Any]]:
    """The items the incident page lists, as incident_item_rows gives them (oldest first):
    the first ``originals`` originals and the ``last`` latest items, for the page's 代表性信息
    and its split form, without reading the thousands in between."""
    columns = (items.c.id, items.c.title, items.c.url, items.c.source, HAPPENED.label("at"),
               items.c.fetched_at, signals.c.negative, ORIGINAL.label("original"))
    first = (_base(incident_id, *columns).where(ORIGINAL.is_(None))
             .order_by(HAPPENED, items.c.id).limit(originals))
    latest = _base(incident_id, *columns).order_by(HAPPENED.desc(), items.c.id.desc()).limit(last)
    found = {r.id: {"id": r.id, "title": r.title, "url": r.url, "source": r.source, "at": r.at,
                    "seen": r.fetched_at, "negative": r.negative,
                    "copy": r.original is not None}
             for query in (first, latest) for r in conn.execute(query)}
    return sorted(found.values(), key=lambda row: (row["at"], row["id"]))


@dataclass(frozen=True)
class ExportRow:
    """An item as the Excel export lists it."""

    post: Post
    summary: str  # sanitised HTML, as stored
    story: int  # the first item of its story: itself for an original


def export_rows(conn: Connection, incident_id: int) -> list[ExportRow]:
    """Every item of the incident, oldest first, with what the export needs."""
    story = func.coalesce(ORIGINAL, items.c.id, type_=Integer).label("story")
    query = (_base(incident_id, *_POST_COLUMNS, items.c.summary, story)
             .order_by(HAPPENED, items.c.id))
    return [ExportRow(_post(r), r.summary, int(r.story)) for r in conn.execute(query)]


def posts_by_id(conn: Connection, ids: Collection[int]) -> dict[int, Post]:
    """Items by id, wherever they are filed (the originals of copies outside the incident)."""
    found: dict[int, Post] = {}
    wanted = sorted(ids)
    for start in range(0, len(wanted), 500):
        query = (select(*_POST_COLUMNS).select_from(items)
                 .outerjoin(signals, signals.c.item_id == items.c.id)
                 .outerjoin(item_stories, item_stories.c.item_id == items.c.id)
                 .where(items.c.id.in_(wanted[start:start + 500])))
        found.update((int(r.id), _post(r)) for r in conn.execute(query))
    return found
