"""A store with one incident, and alerts queued in its outbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.incidents.engine import Changes
from monitor.records import Incident, IncidentStatus, Item
from monitor.store import Store
from monitor.store.incidents import apply_changes
from monitor.store.items import insert_items
from monitor.store.response import add_outbox
from tests.incidents.conftest import START


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    db = Store(f"sqlite:///{tmp_path / 'm.db'}")
    item = Item(source="s", ident="u:x", guid=None, url="https://x.example/1",
                url_norm="https://x.example/1", title="t", title_norm="t", summary="",
                published_at=None, fetched_at=START, content_hash="0" * 64)
    stored = db.transaction(lambda c: insert_items(c, [item], START)).new[0]
    changes = Changes()
    changes.incidents[1] = Incident(1, IncidentStatus.OPEN, "凤庆县人民医院产妇死亡", START, START,
                                    stored.id or 0, "s", level="II")
    db.transaction(lambda c: apply_changes(c, changes))
    yield db
    db.close()


def queue(store: Store, count: int, kind: str = "reminder", level: str = "II",
          phone: bool = False, first: int = 0, data: dict[str, object] | None = None) -> None:
    addresses = {"wecom": "ZhiBanJia", "email": "duty-a@wjw.example.org"}
    if phone:
        addresses["phone"] = "13800000001"
    store.transaction(lambda c: add_outbox(c, [{
        "key": f"due:{n}:{kind}:duty_officer:duty-a", "incident_id": 1, "created_at": START,
        "kind": kind, "person": "duty-a", "role": "duty_officer", "channels": addresses,
        "data": {"title": f"事件{n:03d}", "level": level, "label": "首次权威发布（5小时时限）",
                 "deadline_due": (START + timedelta(hours=5)).isoformat(), "minutes_left": 60,
                 **(data or {})},
        "next_attempt_at": START} for n in range(first, first + count)]))
