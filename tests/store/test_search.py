"""Item search over the lean full-text index: every word held, newest first, words the index
splits, and an index built before it (migration 0010) carried over."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, create_engine, text

from monitor.records import Item
from monitor.store import Store
from monitor.store.db import migrate
from monitor.store.items import insert_items
from monitor.store.search import index_items, search_items
from tests.store.test_items import NOW, item

WORDS = {  # title → its words as the segmenter gives them
    # the newer one mentions the words less: newest first, not most mentions first
    "先存的医院患者新闻": ["医院", "医院", "医院", "患者"],
    "后存的医院患者新闻": ["患者", "在", "医院", "候诊"],
    "不相关": ["粮食", "产量"],
    "新冠疫苗": ["covid-19", "疫苗", "接种"],
}


def _stored(conn: Connection) -> list[Item]:
    return insert_items(conn, [item("weibo", f"u:{n}", title, f"https://w.example/{n}")
                               for n, title in enumerate(WORDS)], NOW).new


def _indexed(conn: Connection) -> None:
    index_items(conn, [(i.id or 0, WORDS[i.title]) for i in _stored(conn)])


def _titles(store: Store, words: list[str]) -> list[str]:
    return [row["title"] for row in store.transaction(lambda c: search_items(c, words))]


def test_every_word_must_be_held_and_the_newest_come_first(store: Store) -> None:
    store.transaction(_indexed)
    assert _titles(store, ["医院", "患者"]) == ["后存的医院患者新闻", "先存的医院患者新闻"]
    assert _titles(store, ["候诊", "医院"]) == ["后存的医院患者新闻"]
    assert _titles(store, ["医院", "粮食"]) == []
    assert _titles(store, ["火箭"]) == []


def test_a_word_the_index_splits_is_searched_as_its_parts(store: Store) -> None:
    """"covid-19" is indexed as "covid" and "19"; an index without positions refuses it as
    one phrase, so the query takes the parts as words of their own."""
    store.transaction(_indexed)
    assert _titles(store, ["COVID-19"]) == ["新冠疫苗"]
    assert _titles(store, ["covid-19", "接种"]) == ["新冠疫苗"]


def test_an_index_built_before_the_lean_one_is_carried_over(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    migrate(engine, "0009")
    with engine.begin() as conn:  # indexed as 0009 did, its words kept in the index
        conn.exec_driver_sql("INSERT INTO items_fts(rowid, tokens) VALUES (?, ?)",
                             [(i.id, " ".join(WORDS[i.title])) for i in _stored(conn)])
    engine.dispose()

    store = Store(url)  # migrates to the newest revision
    try:
        assert _titles(store, ["医院", "患者"]) == ["后存的医院患者新闻", "先存的医院患者新闻"]
        assert _titles(store, ["疫苗"]) == ["新冠疫苗"]
        with store.engine.connect() as conn:
            sql = conn.execute(text(
                "SELECT sql FROM sqlite_master WHERE name = 'items_fts'")).scalar_one()
            copies = conn.execute(text("SELECT count(*) FROM items_fts "
                                       "WHERE tokens IS NOT NULL")).scalar_one()
    finally:
        store.close()
    assert "detail=none" in sql
    assert "content=''" in sql
    assert copies == 0  # no copy of the words is kept
