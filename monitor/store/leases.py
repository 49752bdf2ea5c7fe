"""The pipeline lease: whichever process holds it runs the stages that must run once. Times
are the database's own, so machines whose clocks differ agree on when a lease runs out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from monitor.store.schema import leases, service_log


@dataclass(frozen=True, slots=True)
class Lease:
    name: str
    holder: str
    generation: int
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime


class LeaseLost(Exception):
    """This process no longer holds the lease: its pipeline must stop writing."""


def db_now(conn: Connection) -> datetime:
    if conn.dialect.name == "sqlite":
        text = conn.exec_driver_sql("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')").scalar()
        return datetime.fromisoformat(str(text)).replace(tzinfo=UTC)
    value = conn.exec_driver_sql("SELECT clock_timestamp()").scalar()
    return value.astimezone(UTC) if isinstance(value, datetime) else datetime.now(UTC)


def current(conn: Connection, name: str) -> Lease | None:
    row = conn.execute(select(leases).where(leases.c.name == name)).first()
    return Lease(**row._mapping) if row is not None else None


def acquire(conn: Connection, name: str, holder: str, ttl_s: float) -> Lease | None:
    """Take the lease if nobody holds it or its holder let it run out; the new generation."""
    now = db_now(conn)
    expires = now + timedelta(seconds=ttl_s)
    taken = conn.execute(update(leases).where(
        leases.c.name == name, leases.c.expires_at < now).values(
        holder=holder, generation=leases.c.generation + 1, acquired_at=now, renewed_at=now,
        expires_at=expires))
    if taken.rowcount == 0:
        if current(conn, name) is not None:
            return None
        try:
            with conn.begin_nested():
                conn.execute(insert(leases).values(name=name, holder=holder, generation=1,
                                                   acquired_at=now, renewed_at=now,
                                                   expires_at=expires))
        except IntegrityError:  # another process inserted it first
            return None
    lease = current(conn, name)
    if lease is None or lease.holder != holder:
        return None
    log_event(conn, now, "lead", holder, {"lease": name, "generation": lease.generation})
    return lease


def renew(conn: Connection, lease: Lease, ttl_s: float) -> Lease | None:
    """Extend it; None when it is no longer ours (it ran out and another took it)."""
    now = db_now(conn)
    done = conn.execute(update(leases).where(
        leases.c.name == lease.name, leases.c.holder == lease.holder,
        leases.c.generation == lease.generation, leases.c.expires_at >= now).values(
        renewed_at=now, expires_at=now + timedelta(seconds=ttl_s)))
    return current(conn, lease.name) if done.rowcount == 1 else None


def release(conn: Connection, lease: Lease) -> None:
    """A clean stop hands the lease on at once instead of letting it run out."""
    now = db_now(conn)
    done = conn.execute(update(leases).where(
        leases.c.name == lease.name, leases.c.holder == lease.holder,
        leases.c.generation == lease.generation).values(expires_at=now - timedelta(seconds=1)))
    if done.rowcount:
        log_event(conn, now, "step_down", lease.holder,
                  {"lease": lease.name, "generation": lease.generation, "why": "stopped"})


def check(conn: Connection, lease: Lease) -> None:
    """Fencing, inside a pipeline write's transaction: it goes ahead only while the lease is
    still this generation's. On PostgreSQL the row is share-locked, so a takeover waits for
    the write to commit, and the new leader reads it."""
    query = select(leases.c.holder, leases.c.generation, leases.c.expires_at).where(
        leases.c.name == lease.name)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(read=True)
    row = conn.execute(query).first()
    if row is None or row.holder != lease.holder or row.generation != lease.generation \
            or row.expires_at < db_now(conn):
        raise LeaseLost(f"the {lease.name} lease of generation {lease.generation} is no longer "
                        "this process's")


def log_event(conn: Connection, at: datetime, kind: str, holder: str,
              data: dict[str, object]) -> None:
    conn.execute(insert(service_log).values(at=at, kind=kind, holder=holder,
                                            data=json.dumps(data, ensure_ascii=False)))
