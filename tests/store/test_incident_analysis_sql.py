"""The 事件分析 counts in SQL (monitor/store/analysis.py) on SQLite and on a real PostgreSQL:
items per hour with reposts and negativity, the sources in the order they carried the
incident, the most copied originals, districts, titles, the page's few items and the
export's rows; an item counts when it happened (published, unless after it was fetched)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, insert, update

from monitor.clock import SHANGHAI
from monitor.records import Item, Signal
from monitor.store import Store
from monitor.store import analysis as q
from monitor.store.items import insert_items
from monitor.store.schema import incident_items, incidents, item_stories, items
from monitor.store.signals import put_signal_values, signal_values

DAY = datetime(2026, 3, 2, tzinfo=SHANGHAI)
# (source, published minute, fetched minute, negative or None, places, story: index of its
# first item, repost: index linked by the collector)
ROWS = [("a", 600, 605, 0.2, ("凤庆县人民医院",), None, None),
        ("b", None, 620, 0.8, ("凤庆县",), None, 0),
        ("a", 640, 641, 0.6, (), 0, None),
        ("c", 670, 671, 0.9, ("临翔区", "凤庆县"), None, None),
        ("c", 760, 730, 0.4, ("临沧市",), 3, None),  # "published" after it was fetched
        ("b", 770, 771, None, (), None, None)]  # not analysed yet
REGION_OF = {"凤庆县人民医院": "凤庆县", "凤庆县": "凤庆县", "临翔区": "临翔区"}


def minute(m: int | None) -> datetime | None:
    return DAY + timedelta(minutes=m) if m is not None else None


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = (f"sqlite:///{tmp_path / 'm.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_db"))
    s = Store(url)
    s.transaction(fill)
    yield s
    s.close()


def fill(conn: Connection) -> None:
    batch = [Item(source=src, ident=f"u:{n}", guid=None, url=f"https://{src}.example/{n}",
                  url_norm=f"https://{src}.example/{n}", title=f"标题{n % 4}号", title_norm="",
                  summary=f"<p>摘要{n}</p>", published_at=minute(published),
                  fetched_at=minute(fetched), content_hash=f"{n:064x}")  # type: ignore[arg-type]
             for n, (src, published, fetched, *_) in enumerate(ROWS)]
    # one more item, of another incident, that no figure may count
    batch.append(Item(source="a", ident="u:x", guid=None, url="https://a.example/x",
                      url_norm="https://a.example/x", title="别的事", title_norm="", summary="",
                      published_at=None, fetched_at=DAY, content_hash="f" * 64))
    ids = insert_items(conn, batch, DAY).ids
    put_signal_values(conn, [(ids[n], signal_values(Signal(
        health=True, health_score=0.9, topics=(), negative=row[3], plans=(), places=row[4])))
        for n, row in enumerate(ROWS) if row[3] is not None]
        + [(ids[-1], signal_values(Signal(True, 0.9, (), 1.0, ())))], DAY)
    for n, row in enumerate(ROWS):
        if row[6] is not None:
            conn.execute(update(items).where(items.c.id == ids[n])
                         .values(repost_of=ids[row[6]]))
    conn.execute(insert(item_stories), [
        {"item_id": ids[n], "story_id": ids[row[5] if row[5] is not None else n]}
        for n, row in enumerate(ROWS)])
    conn.execute(insert(incidents), [
        {"id": n, "status": "open", "title": f"事件{n}", "opened_at": DAY, "updated_at": DAY,
         "first_item_id": ids[0], "first_source": "a", "topics": "[]", "keywords": "[]",
         "places": "[]", "items": 6, "stories": 4, "sources": 3, "negative_share": 0.5,
         "heat": 1.0, "proposed_level": "IV"} for n in (1, 2)])
    conn.execute(insert(incident_items), [
        {"item_id": item, "incident_id": 1 if n < len(ROWS) else 2, "added_at": DAY}
        for n, item in enumerate(ids)])


def test_hours_sources_and_originals(store: Store) -> None:
    hours = store.transaction(lambda c: q.hourly(c, 1))
    assert [(h.at.astimezone(SHANGHAI).hour, h.items, h.reposts, h.scored) for h in hours] == [
        (10, 3, 2, 3), (11, 1, 0, 1), (12, 2, 1, 1)]
    assert hours[0].negative_sum == pytest.approx(1.6)
    carried = store.transaction(lambda c: q.carriers(c, 1))
    first = store.transaction(lambda c: q.page_items(c, 1, originals=10, last=10))
    ids = [r["id"] for r in first]  # oldest first, as ROWS are
    assert [(c.source, c.items, c.first.id, c.first_repost.id if c.first_repost else None)
            for c in carried] == [("a", 2, ids[0], ids[2]), ("b", 2, ids[1], ids[1]),
                                  ("c", 2, ids[3], ids[4])]
    assert carried[2].first_repost is not None
    assert carried[2].first_repost.at == minute(730)  # fetched before its "publication"
    copied = store.transaction(lambda c: q.most_reposted(c, 1, 5))
    assert [(p.id, p.reposts) for p in copied] == [(ids[0], 2), (ids[3], 1)]
    negative = store.transaction(lambda c: q.most_negative(c, 1, 2))
    assert [p.id for p in negative] == [ids[3], ids[0]]  # originals only, analysed only
    assert [p.id for p in store.transaction(lambda c: q.from_sources(c, 1, {"b"}, 5))] == [
        ids[1], ids[5]]


def test_districts_titles_and_the_rows_of_the_page_and_the_export(store: Store) -> None:
    regions, unnamed = store.transaction(lambda c: q.regions(c, 1, REGION_OF))
    assert dict(regions) == {"凤庆县": 3, "临翔区": 1}
    assert unnamed == 3  # 临沧市 is no district; one names none; one is not analysed
    assert store.transaction(lambda c: q.titles(c, 1, 2)) == [("标题0号", 2), ("标题1号", 2)]
    few = store.transaction(lambda c: q.page_items(c, 1, originals=1, last=2))
    assert [(r["source"], r["copy"]) for r in few] == [("a", False), ("c", True), ("b", False)]
    rows = store.transaction(lambda c: q.export_rows(c, 1))
    assert [r.post.source for r in rows] == ["a", "b", "a", "c", "c", "b"]
    by_id = {r.post.id: r for r in rows}
    assert [by_id[r.story].post.source for r in rows] == ["a", "a", "a", "c", "c", "b"]
    assert rows[1].summary == "<p>摘要1</p>"
    assert rows[5].post.negative is None
    events = store.transaction(lambda c: q.events_of(c, 1))
    assert events == []
    assert set(store.transaction(lambda c: q.posts_by_id(c, [rows[0].post.id]))) == {
        rows[0].post.id}
