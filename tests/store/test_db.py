"""The store's SQLite settings: durable by default (WAL, synced at checkpoints); a scratch
database keeps its journal in memory and is not synced."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from monitor.store import Store
from monitor.store.incidents import get_cursor, set_cursor


@pytest.mark.parametrize(("durable", "journal", "synchronous"),
                         [(True, "wal", 1), (False, "memory", 0)])
def test_a_scratch_database_is_not_synced(tmp_path: Path, durable: bool, journal: str,
                                          synchronous: int) -> None:
    store = Store(f"sqlite:///{tmp_path / 'm.db'}", durable=durable)
    try:
        mode = store.transaction(lambda c: c.execute(text("PRAGMA journal_mode")).scalar())
        sync = store.transaction(lambda c: c.execute(text("PRAGMA synchronous")).scalar())
    finally:
        store.close()
    assert (mode, sync) == (journal, synchronous)  # 1 is NORMAL, 0 is OFF


@pytest.mark.parametrize("durable", [True, False])
def test_a_failed_transaction_leaves_nothing_behind(tmp_path: Path, durable: bool) -> None:
    store = Store(f"sqlite:///{tmp_path / 'm.db'}", durable=durable)

    def half_done(conn: Connection) -> None:
        set_cursor(conn, "incidents", 41)
        raise RuntimeError("stopped halfway")

    try:
        store.transaction(lambda c: set_cursor(c, "incidents", 7))
        with pytest.raises(RuntimeError, match="halfway"):
            store.transaction(half_done)
        assert store.transaction(lambda c: get_cursor(c, "incidents")) == 7
    finally:
        store.close()
