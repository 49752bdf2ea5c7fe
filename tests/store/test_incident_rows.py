"""Writing an incident's new figures leaves its id alone: setting a key that other tables refer
to would make SQLite look through them for every row a tick rewrites."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from sqlalchemy import Connection, select

from monitor.incidents.engine import Changes
from monitor.records import Incident, IncidentStatus, Item
from monitor.store import Store
from monitor.store.incidents import apply_changes
from monitor.store.items import insert_items
from monitor.store.schema import incidents
from tests.incidents.conftest import START


def test_new_figures_do_not_rewrite_the_id(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    item = Item(source="s", ident="u:x", guid=None, url="https://x.example/1",
                url_norm="https://x.example/1", title="t", title_norm="t", summary="",
                published_at=None, fetched_at=START, content_hash="0" * 64)
    statements: list[str] = []

    def write(conn: Connection, changes: Changes) -> None:
        conn.connection.driver_connection.set_trace_callback(statements.append)  # type: ignore[union-attr]
        apply_changes(conn, changes)

    try:
        item_id = store.transaction(lambda c: insert_items(c, [item], START)).new[0].id or 0
        first = Changes()
        first.incidents[1] = Incident(1, IncidentStatus.OPEN, "凤庆县一医院纠纷", START, START,
                                      item_id, "s", heat=3.0)
        store.transaction(lambda c: apply_changes(c, first))
        later = Changes()
        later.incidents[1] = replace(first.incidents[1], heat=5.5, items=7)
        store.transaction(lambda c: write(c, later))
        row = store.transaction(lambda c: c.execute(select(incidents)).one())
    finally:
        store.close()
    updates = [s for s in statements if s.startswith("UPDATE incidents")]
    assert len(updates) == 1
    assigned = updates[0].split(" WHERE ")[0]
    assert re.search(r"\bheat ?= ?5\.5\b", assigned)
    assert not re.search(r"\bid ?=", assigned)
    assert (row.id, row.heat, row.items) == (1, 5.5, 7)
