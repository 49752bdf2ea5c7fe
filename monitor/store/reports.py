"""Scheduled reports sent: one row per report and target. A target is claimed in one
transaction before it is sent, so two runs (or two workers) cannot both send it, and a run
that dies while sending leaves a claim that runs out and is taken again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Insert, func, insert, select, update

from monitor.store.schema import items, report_sends


@dataclass(frozen=True, slots=True)
class ReportSend:
    kind: str
    period: str
    target: str
    status: str  # sending, sent, failed
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    sent_at: datetime | None


def report_sends_of(conn: Connection, kind: str, period: str) -> list[ReportSend]:
    query = (select(*(report_sends.c[name] for name in ReportSend.__slots__))
             .where(report_sends.c.kind == kind, report_sends.c.period == period)
             .order_by(report_sends.c.id))
    return [ReportSend(**row._mapping) for row in conn.execute(query)]


def recent_sends(conn: Connection, kind: str, limit: int = 30) -> list[ReportSend]:
    """The latest sends of a kind of report, newest period first."""
    query = (select(*(report_sends.c[name] for name in ReportSend.__slots__))
             .where(report_sends.c.kind == kind)
             .order_by(report_sends.c.period.desc(), report_sends.c.id).limit(limit))
    return [ReportSend(**row._mapping) for row in conn.execute(query)]


def _insert_new(conn: Connection, values: dict[str, Any]) -> bool:
    """Insert unless the (kind, period, target) row exists; True when inserted."""
    statement: Insert
    if conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert
        statement = sqlite_insert(report_sends).values(**values).on_conflict_do_nothing()
    elif conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert
        statement = pg_insert(report_sends).values(**values).on_conflict_do_nothing()
    else:
        exists = select(report_sends.c.id).where(report_sends.c.kind == values["kind"],
                                                 report_sends.c.period == values["period"],
                                                 report_sends.c.target == values["target"])
        if conn.execute(exists).first() is not None:
            return False
        statement = insert(report_sends).values(**values)
    return conn.execute(statement).rowcount == 1


def claim_send(conn: Connection, kind: str, period: str, target: str, now: datetime,
               until: datetime, max_attempts: int) -> int | None:
    """Take a target for sending until ``until``: a new one, or one that failed (or whose
    sender died) and whose time has come. Returns the attempt number; None when the target
    is sent, is being sent, waits for its retry, or has used up its attempts."""
    if _insert_new(conn, {"kind": kind, "period": period, "target": target,
                          "status": "sending", "attempts": 1, "next_attempt_at": until}):
        return 1
    key = ((report_sends.c.kind == kind) & (report_sends.c.period == period)
           & (report_sends.c.target == target))
    taken = conn.execute(update(report_sends).where(
        key, report_sends.c.status != "sent", report_sends.c.attempts < max_attempts,
        report_sends.c.next_attempt_at <= now)
        .values(status="sending", attempts=report_sends.c.attempts + 1, next_attempt_at=until))
    if taken.rowcount != 1:
        return None
    return int(conn.execute(select(report_sends.c.attempts).where(key)).scalar_one())


def record_send(conn: Connection, kind: str, period: str, target: str, now: datetime,
                error: str | None = None, retry_at: datetime | None = None) -> None:
    """Sent (``error`` None), or failed and not to be tried before ``retry_at``."""
    values: dict[str, Any] = (
        {"status": "sent", "sent_at": now, "last_error": None} if error is None
        else {"status": "failed", "last_error": error[:1000], "next_attempt_at": retry_at or now})
    conn.execute(update(report_sends).where(
        report_sends.c.kind == kind, report_sends.c.period == period,
        report_sends.c.target == target).values(**values))


def next_attempt(conn: Connection, kind: str, period: str, max_attempts: int
                 ) -> datetime | None:
    """When the earliest target of the report not yet sent may be tried again."""
    query = select(func.min(report_sends.c.next_attempt_at)).where(
        report_sends.c.kind == kind, report_sends.c.period == period,
        report_sends.c.status != "sent", report_sends.c.attempts < max_attempts)
    return conn.execute(query).scalar()


def collected_during(conn: Connection, since: datetime, until: datetime) -> bool:
    """Whether the service collected anything in [since, until): a report on a day it was not
    watching (not yet started, or down) would say "nothing happened" without knowing."""
    return conn.execute(select(items.c.id).where(items.c.fetched_at >= since,
                                                 items.c.fetched_at < until).limit(1)
                        ).first() is not None
