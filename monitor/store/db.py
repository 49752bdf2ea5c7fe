"""Engine, migrations and the single writer thread."""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import StoreError

T = TypeVar("T")
log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str, durable: bool = True) -> Engine:
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", partial(_sqlite_pragmas, durable=durable))
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any, durable: bool) -> None:
    cursor = dbapi_conn.cursor()
    if durable:
        # WAL lets the dashboard read while the stages write; NORMAL is safe with WAL: a
        # crash loses no committed row.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    else:
        # A scratch database that a crash would lose anyway (a replay's), read by no one else:
        # the rollback journal in memory writes each changed page once, at commit, instead of
        # to the WAL and again at its checkpoint (system time 3.4 s → 2.0 s, 5 % faster per
        # 100,000 replayed items); syncing is left to the operating system.
        cursor.execute("PRAGMA journal_mode=MEMORY")
        cursor.execute("PRAGMA synchronous=OFF")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


MIGRATION_LOCK = 7_270_001  # a PostgreSQL advisory lock key of this service's own


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (the newest); a no-op when it is already there."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # processes starting together on one database migrate one after the other
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot prepare the database {engine.url!r}: {exc}") from exc


class Store:
    """The database, with every call made on one writer thread so the event loop never waits
    on disk and SQLite never sees two writers from this process."""

    def __init__(self, url: str, durable: bool = True) -> None:
        """``durable=False``: a scratch database that no other process uses (a replay's),
        journal in memory and no syncing."""
        self.url = url
        self.private = not durable
        self.engine = make_engine(url, durable)
        migrate(self.engine)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        self._fence: Callable[[Connection], None] | None = None
        self.base = self

    def fenced(self, check: Callable[[Connection], None]) -> Store:
        """The same store, whose every transaction first runs ``check`` (which raises to
        refuse it): what the pipeline writes through, so that a process that lost the lease
        writes nothing more. Same connections and writer thread; ``base`` is the store
        itself, for what people do, which any process may record."""
        view = copy.copy(self)
        view._fence = check
        return view

    def transaction(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` in one transaction on the calling thread."""
        with self.engine.begin() as conn:
            if self._fence is not None:
                self._fence(conn)
            return fn(conn)

    async def run(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` in one transaction on the writer thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.transaction, fn)

    async def run_transactions(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the writer thread, where it runs its own transactions
        (``transaction``): work of many transactions in one trip from the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn)

    def close(self) -> None:
        # wait=True: a transaction already started finishes (or rolls back) before we exit.
        self._executor.shutdown(wait=True)
        self.engine.dispose()
