"""`monitor user add|list|disable|set-password`: dashboard users."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from monitor import cli_options
from monitor.clock import SHANGHAI, WallClock
from monitor.config import load_settings
from monitor.errors import MonitorError
from monitor.store import Store
from monitor.store.users import add_user, end_sessions, list_users, update_user, user_by_name
from monitor.web.auth import ROLE_NAMES, ROLES, PasswordError, hash_password


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


def _hashed(password: str) -> str:
    try:
        return hash_password(password)
    except PasswordError as exc:
        raise MonitorError(str(exc)) from None


@click.group()
def user() -> None:
    """Dashboard users: admin, duty_officer, leader, evaluator."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--display-name", help="The name shown on the timeline (default: NAME).")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@cli_options.config
@cli_options.db
def add_command(name: str, role: str, display_name: str | None, password_stdin: bool,
                config: Path | None, db: str | None) -> None:
    """Add a user."""
    settings = load_settings(config, database=db)
    hashed = _hashed(_password(password_stdin))
    store = Store(settings.database_url)
    try:
        store.transaction(lambda c: add_user(c, name, display_name or name, role, hashed,
                                             WallClock().now()))
    except IntegrityError:
        raise MonitorError(f"a user {name!r} exists already") from None
    finally:
        store.close()
    click.echo(f"added {name} ({ROLE_NAMES[role]})")


@user.command("list")
@cli_options.config
@cli_options.db
@click.option("--json", "as_json", is_flag=True)
def list_command(config: Path | None, db: str | None, as_json: bool) -> None:
    """List users."""
    store = Store(load_settings(config, database=db).database_url)
    try:
        rows = store.transaction(list_users)
    finally:
        store.close()
    for u in rows:
        if as_json:
            click.echo(json.dumps({"name": u.name, "display_name": u.display_name,
                                   "role": u.role, "disabled": u.disabled},
                                  ensure_ascii=False))
        else:
            since = u.created_at.astimezone(SHANGHAI).strftime("%Y-%m-%d")
            state = "disabled" if u.disabled else "active"
            click.echo(f"{u.name:<16} {u.display_name:<10} {u.role:<13} {state:<8} {since}")


def _change(config: Path | None, db: str | None, name: str, end: bool, **values: object
            ) -> None:
    store = Store(load_settings(config, database=db).database_url)
    try:
        def apply(conn: Connection) -> None:
            found = user_by_name(conn, name)
            if found is None:
                raise MonitorError(f"no user {name!r}; `monitor user list` lists them")
            update_user(conn, name, **values)
            if end:  # signed-in sessions end with the change
                end_sessions(conn, user_id=found.id)
        store.transaction(apply)
    finally:
        store.close()


@user.command("disable")
@click.argument("name")
@cli_options.config
@cli_options.db
def disable_command(name: str, config: Path | None, db: str | None) -> None:
    """Disable a user; their sessions end at once."""
    _change(config, db, name, end=True, disabled=True)
    click.echo(f"disabled {name}")


@user.command("set-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@cli_options.config
@cli_options.db
def set_password_command(name: str, password_stdin: bool, config: Path | None,
                         db: str | None) -> None:
    """Set a user's password; their sessions end."""
    _change(config, db, name, end=True, password_hash=_hashed(_password(password_stdin)))
    click.echo(f"password set for {name}")
