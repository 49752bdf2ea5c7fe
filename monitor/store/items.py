"""Items: insert what is new, link reposts to their first item, read them back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from monitor.records import Item
from monitor.store.rows import (
    bind_processor,
    insert_rows,
    matching_pairs,
    select_in,
    update_rows,
)
from monitor.store.schema import items as t

REPOST_TITLE_WINDOW = timedelta(days=7)  # Media Cloud's window for same-title dedup


@dataclass(frozen=True, slots=True)
class InsertResult:
    batch: Sequence[Item]  # as given
    stored: list[int]  # the positions in ``batch`` of the items stored now, in order
    ids: list[int]  # their ids, in the same order
    links: dict[int, int]  # the id of each repost among them → the id of the item it reposts
    known: int  # already stored (same identity or same content in this source)

    def item(self, k: int) -> Item:
        """The ``k``-th item stored now, with its id and repost link."""
        given, item_id = self.batch[self.stored[k]], self.ids[k]
        return replace(given, id=item_id, repost_of=self.links.get(item_id, given.repost_of))

    @property
    def new(self) -> list[Item]:
        """The items stored now, with their ids and repost links; reposts included."""
        return [self.item(k) for k in range(len(self.ids))]

    @property
    def reposts(self) -> int:
        """How many of them were linked to an earlier item of another source."""
        return len(self.links)


def insert_new(conn: Connection, source: str, batch: Sequence[Item], now: datetime) -> InsertResult:
    """Store the items of one fetch of ``source`` that are not stored yet (see insert_items)."""
    if any(item.source != source for item in batch):
        raise ValueError(f"insert_new({source!r}) was given items of another source")
    return insert_items(conn, batch, now)


def insert_items(conn: Connection, batch: Sequence[Item], now: datetime) -> InsertResult:
    """Store the items not stored yet, in the order given, whatever their sources.

    Within its source an item is known by its identity (GUID, URL or hash) or by its content
    hash. Across sources the same normalised URL, or the same normalised title within seven
    days, makes it a repost of the first such item, stored earlier or earlier in this batch:
    stored and linked, never dropped.

    The hot path of ingestion, so its statements are plain SQL (rows.py)."""
    known: set[tuple[str, str]] = set()  # (source, "i:" ident) and (source, "h:" hash)
    for column, prefix in ((t.c.ident, "i:"), (t.c.content_hash, "h:")):
        pairs = {(i.source, i.ident if prefix == "i:" else i.content_hash) for i in batch}
        known.update((source, prefix + value)
                     for source, value, _ in matching_pairs(conn, t.c.source, column, pairs))
    stored: list[int] = []
    for at, item in enumerate(batch):
        keys = ((item.source, "i:" + item.ident), (item.source, "h:" + item.content_hash))
        if keys[0] in known or keys[1] in known:
            continue
        known.update(keys)
        stored.append(at)
    if not stored:
        return InsertResult(batch, [], [], {}, known=len(batch))
    fresh = [batch[at] for at in stored]
    roots = _repost_roots(conn, fresh, now)
    datetime_in = bind_processor(conn, t.c.fetched_at)
    before = last_item_id(conn) or 0
    insert_rows(conn, [t.c[name] for name in _COLUMNS], [
        (i.source, i.ident, i.guid, i.url, i.url_norm, i.title, i.title_norm, i.summary,
         datetime_in(i.published_at), datetime_in(i.fetched_at), i.content_hash, i.language,
         i.encoding, i.repost_of) for i in fresh])
    ids = _new_ids(conn, fresh, before)
    links = _link_reposts(conn, fresh, ids, roots)
    return InsertResult(batch, stored, ids, links, known=len(batch) - len(fresh))


def last_item_id(conn: Connection) -> int | None:
    """The highest item id; None while there are no items."""
    return conn.exec_driver_sql(_LAST_ID).scalar()


def _new_ids(conn: Connection, fresh: Sequence[Item], before: int) -> list[int]:
    """The ids the rows of ``fresh`` were given, in order; ``before`` was the highest id before.

    SQLite gives a new row the highest rowid plus one, and PostgreSQL the sequence's next value,
    so when the highest id is now exactly ``len(fresh)`` above ``before``, the batch holds the ids
    in between, in the order inserted: no other row can sit among them. Otherwise (another
    writer's rows, SQLite past its largest rowid) they are looked up by identity."""
    if last_item_id(conn) == before + len(fresh):
        return list(range(before + 1, before + len(fresh) + 1))
    ids = {(source, ident): item_id for source, ident, item_id in matching_pairs(
        conn, t.c.source, t.c.ident, {(i.source, i.ident) for i in fresh})}
    return [ids[(i.source, i.ident)] for i in fresh]


_COLUMNS = ("source", "ident", "guid", "url", "url_norm", "title", "title_norm", "summary",
            "published_at", "fetched_at", "content_hash", "language", "encoding", "repost_of")

# (kind, key) → [(source, root id)], kind "u" for normalised URLs and "t" for titles
Roots = dict[tuple[str, str], list[tuple[str, int]]]


_LAST_ID = "SELECT MAX(id) FROM items"
_URL_ROOTS = "SELECT url_norm, source, MIN(COALESCE(repost_of, id)) FROM items"
_TITLE_ROOTS = ("SELECT title_norm, source, MIN(COALESCE(repost_of, id)) FROM items "
                "WHERE fetched_at >= ?")


def _repost_roots(conn: Connection, fresh: Sequence[Item], now: datetime) -> Roots:
    """For every URL and title key of the batch, the first item of each source holding it."""
    roots: Roots = {}
    urls = select_in(conn, _URL_ROOTS, t.c.url_norm, {i.url_norm for i in fresh if i.url_norm},
                     tail=" GROUP BY url_norm, source")
    since = bind_processor(conn, t.c.fetched_at)(now - REPOST_TITLE_WINDOW)
    titles = select_in(conn, _TITLE_ROOTS, t.c.title_norm,
                       {i.title_norm for i in fresh if i.title_norm}, (since,),
                       " GROUP BY title_norm, source")
    for kind, found in (("u", urls), ("t", titles)):
        for key, source, root in found:
            roots.setdefault((kind, key), []).append((source, root))
    return roots


def _link_reposts(conn: Connection, fresh: Sequence[Item], ids: Sequence[int],
                  roots: Roots) -> dict[int, int]:
    """Link each new item to the first item of another source with its URL or title, that
    item being stored before or earlier in this batch; the links, by the new item's id."""
    links: dict[int, int] = {}
    for item, item_id in zip(fresh, ids, strict=True):
        keys = [("u", item.url_norm)] if item.url_norm else []
        keys += [("t", item.title_norm)] if item.title_norm else []
        first = min((root for key in keys for source, root in roots.get(key, ())
                     if source != item.source), default=None)
        if first is not None:
            links[item_id] = first
        for key in keys:
            roots.setdefault(key, []).append((item.source, first or item.repost_of or item_id))
    update_rows(conn, [t.c.repost_of], t.c.id, [(root, item_id) for item_id, root in links.items()])
    return links


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
