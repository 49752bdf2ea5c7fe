"""Dedup that loses nothing, against a real SQLite file."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import inspect, text

from monitor.clock import SHANGHAI
from monitor.collect.decode import content_hash
from monitor.collect.normalize import normalize_title, normalize_url
from monitor.records import Item
from monitor.store import Store
from monitor.store.items import insert_new, list_items

NOW = datetime(2026, 3, 6, 1, 0, tzinfo=UTC)


def item(source: str, ident: str, title: str, url: str, fetched_at: datetime = NOW) -> Item:
    url_norm = normalize_url(url)
    return Item(source=source, ident=ident, guid=ident, url=url, url_norm=url_norm, title=title,
                title_norm=normalize_title(title), summary="", published_at=None,
                fetched_at=fetched_at, content_hash=content_hash(title, url_norm, ""))


def test_schema_is_migrated_and_sqlite_uses_wal(store: Store) -> None:
    names = set(inspect(store.engine).get_table_names())
    assert {"items", "source_health", "signals", "labels", "alembic_version"} <= names
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0014"


def test_opening_twice_does_not_migrate_again(store: Store) -> None:
    again = Store(store.url)
    again.close()
    assert store.transaction(lambda c: list_items(c)) == []


def test_known_identity_or_content_is_not_stored_twice(store: Store) -> None:
    a = item("s", "g:1", "临沧市人民医院开通急诊绿色通道", "https://a.example/1")
    first = store.transaction(lambda c: insert_new(c, "s", [a, a], NOW))
    assert len(first.new) == 1
    assert first.known == 1
    renamed = replace(a, ident="g:changed")  # the GUID changed, the content did not
    second = store.transaction(lambda c: insert_new(c, "s", [renamed], NOW))
    assert second.new == []
    assert second.known == 1


def test_reposts_across_sources_link_to_the_first_item(store: Store) -> None:
    original = item("paper", "g:1", "临沧市人民医院开通急诊绿色通道", "https://paper.example/1")
    [stored] = store.transaction(lambda c: insert_new(c, "paper", [original], NOW)).new
    by_url = item("portal", "g:9", "完全不同的标题也能识别", "https://www.paper.example/1?utm_source=x")
    by_title = item("weibo", "g:5", "临沧市人民医院开通急诊绿色通道_微博", "https://weibo.example/5")
    r1 = store.transaction(lambda c: insert_new(c, "portal", [by_url], NOW))
    r2 = store.transaction(lambda c: insert_new(c, "weibo", [by_title], NOW))
    assert (r1.reposts, r2.reposts) == (1, 1)
    assert r1.new[0].repost_of == stored.id
    assert r2.new[0].repost_of == stored.id
    # a repost of a repost points at the first item, not at the middle one
    third = item("forum", "g:7", "转：临沧市人民医院开通急诊绿色通道", "https://weibo.example/5")
    r3 = store.transaction(lambda c: insert_new(c, "forum", [third], NOW))
    assert r3.new[0].repost_of == stored.id
    assert len(store.transaction(lambda c: list_items(c))) == 4  # nothing thrown away


def test_same_title_after_a_week_is_a_new_story(store: Store) -> None:
    old = item("paper", "g:1", "全市开展春季爱国卫生运动", "https://paper.example/1",
               fetched_at=NOW - timedelta(days=8))
    store.transaction(lambda c: insert_new(c, "paper", [old], NOW - timedelta(days=8)))
    fresh = item("portal", "g:2", "全市开展春季爱国卫生运动", "https://portal.example/2")
    result = store.transaction(lambda c: insert_new(c, "portal", [fresh], NOW))
    assert result.reposts == 0
    assert result.new[0].repost_of is None


def test_times_come_back_aware_in_utc(store: Store) -> None:
    a = item("s", "g:1", "临沧市人民医院开通急诊绿色通道", "https://a.example/1")
    store.transaction(lambda c: insert_new(c, "s", [a], NOW))
    [back] = store.transaction(lambda c: list_items(c))
    assert back.fetched_at == NOW
    assert back.fetched_at.tzinfo is not None


def test_times_are_stored_as_sqlalchemy_stores_them(store: Store) -> None:
    """Plain-SQL inserts write the same text as SQLAlchemy, so that times compare as text:
    a whole second keeps its ".000000"."""
    a = item("s", "g:1", "临沧市人民医院开通急诊绿色通道", "https://a.example/1",
             fetched_at=NOW.astimezone(SHANGHAI))
    store.transaction(lambda c: insert_new(c, "s", [a], NOW))
    raw = store.transaction(lambda c: c.exec_driver_sql("SELECT fetched_at FROM items").scalar())
    assert raw == "2026-03-06 01:00:00.000000"


def _ids_by_ident(store: Store) -> dict[str, int]:
    return {ident: item_id for item_id, ident in store.transaction(
        lambda c: c.exec_driver_sql("SELECT id, ident FROM items").all())}


def test_new_items_get_the_ids_they_were_stored_with(store: Store) -> None:
    """In order after the highest id; where SQLite cannot do that (a row holds the largest
    rowid, so it picks new ones at random) they are looked up by identity instead."""
    batch = [item("s", f"g:{n}", f"第{n}条新闻标题足够长", f"https://a.example/{n}")
             for n in range(5)]
    first = store.transaction(lambda c: insert_new(c, "s", batch[:2], NOW)).new
    assert [i.id for i in first] == [1, 2]
    store.transaction(lambda c: c.exec_driver_sql(
        "INSERT INTO items (id, source, ident, url, url_norm, title, title_norm, summary, "
        "fetched_at, content_hash) VALUES (9223372036854775807, 's', 'g:last', 'u', 'u', "
        "'t', '', '', '2026-03-06 01:00:00.000000', 'h')"))
    later = store.transaction(lambda c: insert_new(c, "s", batch[2:], NOW)).new
    stored = _ids_by_ident(store)
    assert {i.ident: i.id for i in first + later} == {
        ident: item_id for ident, item_id in stored.items() if ident != "g:last"}
    assert all(i.id not in (3, 4, 5) for i in later)  # random rowids, not the next ones
