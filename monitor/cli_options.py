"""Options shared by the commands of `monitor`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from monitor.clock import SHANGHAI
from monitor.config import Settings
from monitor.errors import MonitorError

if TYPE_CHECKING:
    from sqlalchemy import Connection

T = TypeVar("T")

config = click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path),
                      help="Settings file (YAML).")
db = click.option("--db", "db", metavar="URL", envvar="MONITOR_DB",
                  help="Database URL (default: the config, then $MONITOR_DB, then "
                       "sqlite:///monitor.db).")


def parse_time(text: str) -> datetime:
    """ISO 8601; Beijing time when no offset is given."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise MonitorError(f"not an ISO 8601 time: {text!r} (e.g. 2026-03-02T09:15)") from None
    return when if when.tzinfo else when.replace(tzinfo=SHANGHAI)


def with_store(settings: Settings, fn: Callable[[Connection], T]) -> T:
    """One transaction on the configured store, for a command."""
    from monitor.store import Store

    store = Store(settings.database_url)
    try:
        return store.transaction(fn)
    finally:
        store.close()
