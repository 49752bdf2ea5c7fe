"""The `monitor` command line. Logging is configured here and nowhere else."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from monitor.clock import SHANGHAI, WallClock
from monitor.collect.fetch import Fetcher
from monitor.collect.poller import Poller, PollReport, parser_pool
from monitor.config import Settings, load_settings, load_sources
from monitor.errors import MonitorError
from monitor.records import Item, Source
from monitor.store import Store
from monitor.store.items import list_items

log = logging.getLogger("monitor")
P = ParamSpec("P")
R = TypeVar("R")

_config = click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path),
                       help="Settings file (YAML).")
_db = click.option("--db", "db", metavar="URL", envvar="MONITOR_DB",
                   help="Database URL (default: the config, then $MONITOR_DB, then "
                        "sqlite:///monitor.db).")
_sources = click.option("--sources", "sources", type=click.Path(dir_okay=False, path_type=Path),
                        help="Sources file (default: ./sources.yaml, else the bundled one).")


def _errors_to_exit(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn our errors into a message on stderr and the error's exit code."""
    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except MonitorError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
    return wrapper


def _logging(level: int) -> None:
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@click.group()
@click.version_option(package_name="health-opinion-monitor")
def main() -> None:
    """Health public-opinion (舆情) monitoring and response service."""


@main.command()
@_config
@_db
@_sources
@click.option("--host", help="Address to listen on (default from settings: 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default from settings: 8080).")
@_errors_to_exit
def run(config: Path | None, db: str | None, sources: Path | None, host: str | None,
        port: int | None) -> None:
    """Run the service: collectors on their schedules and the web server."""
    from aiohttp import web

    from monitor.app import build_app

    _logging(logging.INFO)
    settings = load_settings(config, database=db, sources=sources)
    app = build_app(settings)
    web.run_app(app, host=host or settings.web.host, port=port or settings.web.port,
                print=lambda text: log.info("%s", text.strip()), handle_signals=True)


@main.command()
@click.option("--once", is_flag=True, required=True,
              help="Poll every enabled source once and exit (required; `monitor run` polls "
                   "continuously).")
@_config
@_db
@_sources
@click.option("--source", "only", multiple=True, help="Poll only this source (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@_errors_to_exit
def fetch(once: bool, config: Path | None, db: str | None, sources: Path | None,
          only: tuple[str, ...], as_json: bool) -> None:
    """Poll sources once; print each source's status, HTTP code, new items, reposts, time."""
    _logging(logging.ERROR)
    settings = load_settings(config, database=db, sources=sources)
    source_list = load_sources(settings.sources_path)
    # naming a source polls it even if it is disabled
    chosen = ([replace(source_list.by_name(n), enabled=True) for n in only] if only
              else source_list.sources)
    reports = asyncio.run(_fetch_once(settings, chosen, source_list.trusted_hosts))
    if as_json:
        click.echo(json.dumps([_report_json(r) for r in reports], ensure_ascii=False, indent=2))
    else:
        click.echo(_report_table(reports))
    if reports and all(r.error for r in reports):
        sys.exit(1)


async def _fetch_once(settings: Settings, sources: list[Source],
                      trusted: list[str]) -> list[PollReport]:
    store = Store(settings.database_url)
    fetcher = Fetcher(settings.fetch, trusted)
    total = sum(s.enabled for s in sources)
    done = 0

    def progress(report: PollReport) -> None:
        nonlocal done
        done += 1
        if sys.stderr.isatty():
            click.echo(f"\r{done}/{total} {report.source[:40]:<40}", err=True, nl=False)

    pool = parser_pool()
    try:
        poller = Poller(store, fetcher, WallClock(), on_report=progress, parse_executor=pool)
        return await poller.poll_once(sources)
    finally:
        pool.shutdown()
        if sys.stderr.isatty() and total:
            click.echo("\r" + " " * 60 + "\r", err=True, nl=False)
        await fetcher.close()
        store.close()


def _report_json(report: PollReport) -> dict[str, Any]:
    return {"source": report.source, "status": report.status.value,
            "http_status": report.http_status, "new": report.new, "reposts": report.reposts,
            "seconds": report.seconds, "error": report.error, "warning": report.warning,
            "next_check_at": report.next_check_at.isoformat() if report.next_check_at else None}


def _report_table(reports: list[PollReport]) -> str:
    header = ("source", "status", "http", "new", "reposts", "time", "error")
    rows = [(r.source, r.status.value, str(r.http_status or "-"), str(r.new), str(r.reposts),
             f"{r.seconds:.2f}s", r.error or (f"warning: {r.warning}" if r.warning else ""))
            for r in reports]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1]
             for row in [header, *rows]]
    new = sum(r.new for r in reports)
    failed = sum(bool(r.error) for r in reports)
    lines.append(f"{len(reports)} sources, {new} new items, {failed} failed")
    return "\n".join(line.rstrip() for line in lines)


@main.command()
@_config
@_db
@click.option("--since", help="Only items fetched at or after this time (ISO 8601; "
                              "Asia/Shanghai when no zone is given).")
@click.option("--source", help="Only items of this source.")
@click.option("--limit", type=int, help="At most this many items.")
@click.option("--jsonl", is_flag=True, help="JSON Lines, one item a line (the default is a table).")
@_errors_to_exit
def items(config: Path | None, db: str | None, since: str | None, source: str | None,
          limit: int | None, jsonl: bool) -> None:
    """Export stored items, oldest first."""
    settings = load_settings(config, database=db)
    start = _parse_since(since) if since else None
    store = Store(settings.database_url)
    try:
        rows = store.transaction(lambda c: list_items(c, since=start, source=source, limit=limit))
    finally:
        store.close()
    for item in rows:
        if jsonl:
            click.echo(json.dumps(_item_json(item), ensure_ascii=False))
        else:
            when = item.fetched_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
            repost = f" (repost of #{item.repost_of})" if item.repost_of else ""
            click.echo(f"#{item.id}  {when}  {item.source}  {item.title}{repost}")


def _parse_since(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time such as 2026-03-02T09:00",
                                 param_hint="--since") from None
    return when if when.tzinfo else when.replace(tzinfo=SHANGHAI)


def _item_json(item: Item) -> dict[str, Any]:
    return {"id": item.id, "source": item.source, "guid": item.guid, "url": item.url,
            "url_norm": item.url_norm, "title": item.title, "summary": item.summary,
            "published_at": item.published_at.isoformat() if item.published_at else None,
            "fetched_at": item.fetched_at.isoformat(), "content_hash": item.content_hash,
            "language": item.language, "encoding": item.encoding, "repost_of": item.repost_of}
