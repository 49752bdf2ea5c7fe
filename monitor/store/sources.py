"""Source health rows: one per source, rewritten after every attempt."""

from __future__ import annotations

from dataclasses import asdict, fields

from sqlalchemy import Connection, delete, insert, select

from monitor.records import FetchStatus, SourceHealth
from monitor.store.schema import source_health as t


def get_health(conn: Connection, source: str) -> SourceHealth | None:
    row = conn.execute(select(t).where(t.c.source == source)).first()
    return _health(row._mapping) if row is not None else None


def all_health(conn: Connection) -> dict[str, SourceHealth]:
    return {row.source: _health(row._mapping) for row in conn.execute(select(t))}


def put_health(conn: Connection, health: SourceHealth) -> None:
    values = asdict(health)
    values["status"] = health.status.value if health.status else None
    conn.execute(delete(t).where(t.c.source == health.source))
    conn.execute(insert(t).values(**values))


def _health(mapping: object) -> SourceHealth:
    data = {f.name: mapping[f.name] for f in fields(SourceHealth)}  # type: ignore[index]
    data["status"] = FetchStatus(data["status"]) if data["status"] else None
    return SourceHealth(**data)
