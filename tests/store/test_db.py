"""The store's SQLite settings: durable by default, not synced for a scratch database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from monitor.store import Store


@pytest.mark.parametrize(("durable", "synchronous"), [(True, 1), (False, 0)])
def test_a_scratch_database_is_not_synced(tmp_path: Path, durable: bool,
                                          synchronous: int) -> None:
    store = Store(f"sqlite:///{tmp_path / 'm.db'}", durable=durable)
    try:
        mode = store.transaction(lambda c: c.execute(text("PRAGMA journal_mode")).scalar())
        sync = store.transaction(lambda c: c.execute(text("PRAGMA synchronous")).scalar())
    finally:
        store.close()
    assert (mode, sync) == ("wal", synchronous)  # 1 is NORMAL, 0 is OFF
