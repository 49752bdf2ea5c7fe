"""The 舆情态势 counts in SQL (monitor/store/situation.py) on SQLite and on a real PostgreSQL:
per source with tone and topics, the sets of places, titles, hourly counts, versions of a
span, each source's newest item, incidents and missed deadlines, and the export's rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from monitor.clock import SHANGHAI
from monitor.records import Item, Signal, TopicScore
from monitor.store import Store
from monitor.store import situation as q
from monitor.store.items import insert_items
from monitor.store.schema import deadlines, incidents
from monitor.store.signals import put_signal_values, signal_values

DAY = datetime(2026, 3, 2, tzinfo=SHANGHAI)
SPAN = (DAY, DAY + timedelta(days=1))
# (hour, source, health, negative, topics, places)
ROWS = [(1, "a", True, 0.9, ("access_to_care",), ("凤庆县人民医院",)),
        (1, "a", True, 0.1, ("access_to_care", "food_safety"), ()),
        (2, "b", True, 0.3, ("food_safety",), ("凤庆县人民医院",)),
        (2, "b", False, 0.8, (), ("临翔区",)),
        (3, "c", True, 0.5, (), ("临翔区", "博尚镇")),
        (30, "a", True, 0.9, ("access_to_care",), ())]  # the next day


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = (f"sqlite:///{tmp_path / 'm.db'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_db"))
    s = Store(url)
    s.transaction(fill)
    yield s
    s.close()


def fill(conn: object) -> None:
    batch = [Item(source=src, ident=f"u:{n}", guid=None, url=f"https://{src}.example/{n}",
                  url_norm=f"https://{src}.example/{n}", title=f"标题{n}", title_norm="",
                  summary="", published_at=None, fetched_at=DAY + timedelta(hours=h, minutes=n),
                  content_hash=f"{n:064x}")
             for n, (h, src, *_) in enumerate(ROWS)]
    stored = insert_items(conn, batch, DAY)  # type: ignore[arg-type]
    put_signal_values(conn, [(item_id, signal_values(Signal(  # type: ignore[arg-type]
        health=health, health_score=0.9 if health else 0.1,
        topics=tuple(TopicScore(t, 0.8) for t in topics), negative=negative, plans=(),
        places=places)))
        for item_id, (_, _, health, negative, topics, places) in zip(stored.ids, ROWS,
                                                                     strict=True)], DAY)
    conn.execute(insert(incidents), [  # type: ignore[attr-defined]
        {"id": n, "status": status, "title": f"事件{n}", "opened_at": DAY + timedelta(hours=n),
         "updated_at": DAY + timedelta(hours=n), "first_item_id": stored.ids[0],
         "first_source": "a", "topics": '["food_safety"]', "keywords": "[]", "places": "[]",
         "region": "凤庆县", "items": 3, "stories": 1, "sources": 1, "negative_share": 0.5,
         "heat": heat, "proposed_level": "III", "level": None}
        for n, status, heat in ((1, "open", 10.0), (2, "merged", 50.0), (3, "closed", 20.0))])
    conn.execute(insert(deadlines), [  # type: ignore[attr-defined]
        {"incident_id": 1, "key": "response", "label": "回应", "met_by": "[]", "hard": False,
         "due_at": DAY + timedelta(hours=4), "status": "missed",
         "missed_at": DAY + timedelta(hours=4)},
        {"incident_id": 3, "key": "response", "label": "回应", "met_by": "[]", "hard": False,
         "due_at": DAY + timedelta(hours=5), "status": "met", "missed_at": None}])


def test_the_counts_of_a_day(store: Store) -> None:
    keys = ["access_to_care", "food_safety", "epidemic"]
    by_source = {r.source: r for r in store.transaction(lambda c: q.source_counts(c, SPAN,
                                                                                 keys))}
    assert sorted(by_source) == ["a", "b", "c"]
    a, b, c = by_source["a"], by_source["b"], by_source["c"]
    assert (a.items, a.health, a.negative, a.positive, a.topics) == (2, 2, 1, 1, (2, 1, 0))
    # a negative non-health item counts among the items only
    assert (b.items, b.health, b.negative, b.positive, b.topics) == (2, 1, 0, 0, (0, 1, 0))
    assert (c.items, c.health, c.negative) == (1, 1, 1)  # 0.5 is negative
    places = dict(store.transaction(lambda c: q.place_sets(c, SPAN)))
    assert places == {("凤庆县人民医院",): 2, ("临翔区", "博尚镇"): 1}
    titles = store.transaction(lambda c: q.health_titles(c, SPAN))
    assert sorted(titles) == ["标题0", "标题1", "标题2", "标题4"]
    hours = [(DAY + timedelta(hours=h), DAY + timedelta(hours=h + 1)) for h in range(4)]
    assert store.transaction(lambda c: q.counts(c, hours)) == [(0, 0), (2, 2), (2, 1), (1, 1)]
    versions = store.transaction(lambda c: q.versions(c, [SPAN, (SPAN[1], SPAN[1]
                                                                  + timedelta(days=1))]))
    assert [v[0] for v in versions] == [5, 1]
    assert versions[1][1] > versions[0][1]
    assert store.transaction(q.analysed_through) == versions[1][1]


def test_sources_incidents_and_the_exported_rows(store: Store) -> None:
    newest = store.transaction(lambda c: q.newest_items(c, DAY + timedelta(hours=2)))
    assert set(newest) == {"a", "b", "c"}
    assert newest["a"] == DAY + timedelta(hours=30, minutes=5)
    assert newest["a"].tzinfo is not None
    assert store.transaction(lambda c: q.incident_counts(c, SPAN)) == (2, 1, 1)
    top = store.transaction(lambda c: q.top_incidents(c, SPAN))
    assert [(i.id, i.items, i.topics) for i in top] == [(3, 3, ("food_safety",)),
                                                        (1, 3, ("food_safety",))]
    rows = store.transaction(lambda c: q.health_items(c, SPAN, 3))
    assert [r.title for r in rows] == ["标题0", "标题1", "标题2"]
    assert rows[0].fetched_at.astimezone(UTC) == (DAY + timedelta(hours=1)).astimezone(UTC)
    assert store.transaction(lambda c: q.health_count(c, SPAN)) == 4
