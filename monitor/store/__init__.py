"""The store: SQLAlchemy Core over SQLite (WAL) by default, PostgreSQL by URL."""

from monitor.store.db import Store

__all__ = ["Store"]
