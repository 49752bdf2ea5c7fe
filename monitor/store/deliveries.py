"""Deliveries of outbox rows, one per channel."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from monitor.store.schema import deliveries, outbox, silences


def _outbox_row(row: Any) -> dict[str, Any]:
    m = dict(row._mapping)
    m["channels"], m["data"] = json.loads(m["channels"]), json.loads(m["data"])
    return m


def unrouted(conn: Connection, limit: int = 500) -> list[dict[str, Any]]:
    query = select(outbox).where(outbox.c.status == "pending").order_by(outbox.c.id).limit(limit)
    return [_outbox_row(r) for r in conn.execute(query)]


def add_deliveries(conn: Connection, outbox_id: int, channels: Sequence[str], now: datetime,
                   resend: bool = False) -> None:
    if channels:
        conn.execute(insert(deliveries), [
            {"outbox_id": outbox_id, "channel": c, "status": "pending", "attempts": 0,
             "next_attempt_at": now, "resend": resend} for c in channels])


def set_outbox_status(conn: Connection, outbox_id: int, status: str,
                      error: str | None = None, at: datetime | None = None) -> None:
    values: dict[str, Any] = {"status": status}
    if error is not None:
        values["last_error"] = error
    if status == "sent":
        values["sent_at"] = at
    conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(**values))


def recover_leases(conn: Connection, now: datetime) -> int:
    """Deliveries whose sender died while sending: back to pending, marked as a resend."""
    done = conn.execute(update(deliveries).where(deliveries.c.status == "sending",
                                                 deliveries.c.lease_until < now)
                        .values(status="pending", resend=True, lease_until=None))
    return done.rowcount


def due(conn: Connection, now: datetime, limit: int = 1000) -> list[dict[str, Any]]:
    """Pending deliveries due now, oldest first, with their outbox rows."""
    query = (select(deliveries, outbox.c.key, outbox.c.incident_id, outbox.c.kind,
                    outbox.c.person, outbox.c.role, outbox.c.channels.label("addresses"),
                    outbox.c.data, outbox.c.created_at)
             .join(outbox, outbox.c.id == deliveries.c.outbox_id)
             .where(deliveries.c.status == "pending", deliveries.c.next_attempt_at <= now)
             .order_by(deliveries.c.next_attempt_at, deliveries.c.id).limit(limit))
    rows = []
    for row in conn.execute(query):
        m = dict(row._mapping)
        m["addresses"], m["data"] = json.loads(m["addresses"]), json.loads(m["data"])
        rows.append(m)
    return rows


def lease(conn: Connection, ids: Sequence[int], until: datetime) -> list[int]:
    """Take the deliveries for sending; those another sender took meanwhile are left out."""
    taken = []
    for delivery_id in ids:
        done = conn.execute(update(deliveries).where(deliveries.c.id == delivery_id,
                                                     deliveries.c.status == "pending")
                            .values(status="sending", lease_until=until))
        if done.rowcount == 1:
            taken.append(delivery_id)
    return taken


def finish(conn: Connection, ids: Sequence[int], values: dict[str, Any]) -> None:
    conn.execute(update(deliveries).where(deliveries.c.id.in_(list(ids))).values(**values))


def recent_sends(conn: Connection, channel: str, since: datetime) -> list[datetime]:
    query = select(deliveries.c.sent_at).where(deliveries.c.channel == channel,
                                              deliveries.c.sent_at >= since,
                                              deliveries.c.digest_id.is_(None)
                                              | (deliveries.c.digest_id == deliveries.c.id))
    return [r[0] for r in conn.execute(query)]


def has_delivery(conn: Connection, outbox_id: int, channel: str) -> bool:
    query = select(deliveries.c.id).where(deliveries.c.outbox_id == outbox_id,
                                          deliveries.c.channel == channel)
    return conn.execute(query).first() is not None


def outbox_id_of(conn: Connection, key: str) -> int:
    return int(conn.execute(select(outbox.c.id).where(outbox.c.key == key)).scalar_one())


def add_silence(conn: Connection, incident_id: int, owner: str, reason: str, now: datetime,
                expires: datetime) -> int:
    result = conn.execute(insert(silences).values(
        incident_id=incident_id, owner=owner, reason=reason, created_at=now, expires_at=expires))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def active_silence(conn: Connection, incident_id: int, now: datetime) -> dict[str, Any] | None:
    row = conn.execute(select(silences).where(silences.c.incident_id == incident_id,
                                              silences.c.created_at <= now,
                                              silences.c.expires_at > now)
                       .order_by(silences.c.expires_at.desc()).limit(1)).first()
    return dict(row._mapping) if row is not None else None
