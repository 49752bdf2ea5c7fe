"""Dashboard users and sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update

from monitor.store.schema import login_failures, sessions, users


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    display_name: str
    role: str
    password_hash: str
    disabled: bool
    created_at: datetime


def add_user(conn: Connection, name: str, display_name: str, role: str, password_hash: str,
             now: datetime) -> int:
    result = conn.execute(insert(users).values(
        name=name, display_name=display_name, role=role, password_hash=password_hash,
        disabled=False, created_at=now))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def user_by_name(conn: Connection, name: str) -> User | None:
    row = conn.execute(select(users).where(users.c.name == name)).first()
    return User(**row._mapping) if row is not None else None


def list_users(conn: Connection) -> list[User]:
    return [User(**r._mapping) for r in conn.execute(select(users).order_by(users.c.name))]


def update_user(conn: Connection, name: str, **values: object) -> bool:
    return conn.execute(update(users).where(users.c.name == name).values(**values)).rowcount == 1


def add_session(conn: Connection, token_hash: str, user_id: int, csrf: str, now: datetime,
                expires: datetime) -> None:
    conn.execute(insert(sessions).values(token_hash=token_hash, user_id=user_id, csrf=csrf,
                                         created_at=now, expires_at=expires))


def session_user(conn: Connection, token_hash: str, now: datetime) -> tuple[User, str] | None:
    """The signed-in user and the session's CSRF token, for a live session of an enabled
    user."""
    row = conn.execute(select(users, sessions.c.csrf)
                       .join(sessions, sessions.c.user_id == users.c.id)
                       .where(sessions.c.token_hash == token_hash, sessions.c.expires_at > now,
                              users.c.disabled.is_(False))).first()
    if row is None:
        return None
    m = dict(row._mapping)
    csrf = m.pop("csrf")
    return User(**m), csrf


def end_sessions(conn: Connection, *, token_hash: str | None = None,
                 user_id: int | None = None) -> None:
    query = delete(sessions)
    if token_hash is not None:
        query = query.where(sessions.c.token_hash == token_hash)
    if user_id is not None:
        query = query.where(sessions.c.user_id == user_id)
    conn.execute(query)


def failures_since(conn: Connection, keys: list[str], since: datetime) -> dict[str, list[datetime]]:
    """The failed sign-ins counted under each key since then, oldest first."""
    found: dict[str, list[datetime]] = {k: [] for k in keys}
    rows = conn.execute(select(login_failures.c.key, login_failures.c.at)
                        .where(login_failures.c.key.in_(keys), login_failures.c.at >= since)
                        .order_by(login_failures.c.at))
    for key, at in rows:
        found[key].append(at)
    return found


def add_failures(conn: Connection, keys: list[str], at: datetime, forget_before: datetime) -> None:
    conn.execute(delete(login_failures).where(login_failures.c.at < forget_before))
    conn.execute(insert(login_failures), [{"key": k, "at": at} for k in keys])
