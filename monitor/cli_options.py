"""Options shared by the commands of `monitor`."""

from __future__ import annotations

from pathlib import Path

import click

config = click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path),
                      help="Settings file (YAML).")
db = click.option("--db", "db", metavar="URL", envvar="MONITOR_DB",
                  help="Database URL (default: the config, then $MONITOR_DB, then "
                       "sqlite:///monitor.db).")
