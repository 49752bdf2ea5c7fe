"""Items: insert what is new, link reposts to their first item, read them back."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import Connection, and_, func, insert, or_, select

from monitor.records import Item
from monitor.store.schema import items as t

REPOST_TITLE_WINDOW = timedelta(days=7)  # Media Cloud's window for same-title dedup
T = TypeVar("T")
_CHUNK = 400  # keeps IN (...) lists under SQLite's variable limit


@dataclass(frozen=True, slots=True)
class InsertResult:
    new: list[Item]  # stored now, with their ids; reposts included
    reposts: int  # how many of ``new`` were linked to an earlier item of another source
    known: int  # already stored (same identity or same content in this source)


def _chunks(values: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


def insert_new(conn: Connection, source: str, batch: Sequence[Item], now: datetime) -> InsertResult:
    """Store the items of one fetch of ``source`` that are not stored yet.

    Within the source an item is known by its identity (GUID, URL or hash) or by its content
    hash. Across sources the same normalised URL, or the same normalised title within seven
    days, makes it a repost of the first such item: stored and linked, never dropped."""
    known_idents: set[str] = set()
    known_hashes: set[str] = set()
    for chunk in _chunks(batch):
        rows = conn.execute(select(t.c.ident, t.c.content_hash).where(
            t.c.source == source,
            or_(t.c.ident.in_([i.ident for i in chunk]),
                t.c.content_hash.in_([i.content_hash for i in chunk])))).all()
        known_idents.update(r.ident for r in rows)
        known_hashes.update(r.content_hash for r in rows)
    fresh: list[Item] = []
    for item in batch:
        if item.ident in known_idents or item.content_hash in known_hashes:
            continue
        known_idents.add(item.ident)
        known_hashes.add(item.content_hash)
        fresh.append(item)
    roots = _repost_roots(conn, source, fresh, now)
    linked = [replace(item, repost_of=roots.get(("u", item.url_norm))
                      or roots.get(("t", item.title_norm))) for item in fresh]
    stored: list[Item] = []
    if linked:
        query = insert(t).returning(t.c.id, sort_by_parameter_order=True)
        ids = conn.execute(query, [_row(item) for item in linked]).scalars().all()
        stored = [replace(item, id=new_id) for item, new_id in zip(linked, ids, strict=True)]
    reposts = sum(item.repost_of is not None for item in stored)
    return InsertResult(new=stored, reposts=reposts, known=len(batch) - len(fresh))


def _repost_roots(conn: Connection, source: str, fresh: Sequence[Item],
                  now: datetime) -> dict[tuple[str, str], int]:
    """The first item of another source with the same URL or title key, by key."""
    roots: dict[tuple[str, str], int] = {}
    urls = sorted({i.url_norm for i in fresh if i.url_norm})
    titles = sorted({i.title_norm for i in fresh if i.title_norm})
    root_id = func.coalesce(t.c.repost_of, t.c.id)
    for chunk in _chunks(urls):
        query = (select(t.c.url_norm, func.min(root_id))
                 .where(t.c.source != source, t.c.url_norm.in_(chunk)).group_by(t.c.url_norm))
        roots.update((("u", key), first) for key, first in conn.execute(query).all())
    since = now - REPOST_TITLE_WINDOW
    for chunk in _chunks(titles):
        query = (select(t.c.title_norm, func.min(root_id))
                 .where(and_(t.c.source != source, t.c.title_norm.in_(chunk),
                             t.c.fetched_at >= since))
                 .group_by(t.c.title_norm))
        roots.update((("t", key), first) for key, first in conn.execute(query).all())
    return roots


def _row(item: Item) -> dict[str, object]:
    return {"source": item.source, "ident": item.ident, "guid": item.guid, "url": item.url,
            "url_norm": item.url_norm, "title": item.title, "title_norm": item.title_norm,
            "summary": item.summary, "published_at": item.published_at,
            "fetched_at": item.fetched_at, "content_hash": item.content_hash,
            "language": item.language, "encoding": item.encoding, "repost_of": item.repost_of}


def entries_last_week(conn: Connection, source: str, now: datetime) -> int:
    """Entries of ``source`` dated within the last seven days (by publication, else by fetch)."""
    when = func.coalesce(t.c.published_at, t.c.fetched_at)
    return int(conn.execute(select(func.count()).where(
        t.c.source == source, when >= now - timedelta(days=7))).scalar_one())


def list_items(conn: Connection, *, since: datetime | None = None, source: str | None = None,
               limit: int | None = None) -> list[Item]:
    query = select(t).order_by(t.c.fetched_at, t.c.id)
    if since is not None:
        query = query.where(t.c.fetched_at >= since)
    if source is not None:
        query = query.where(t.c.source == source)
    if limit is not None:
        query = query.limit(limit)
    return [Item(**row._mapping) for row in conn.execute(query)]
