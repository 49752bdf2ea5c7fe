"""`monitor incident …`, `monitor duty` and `monitor clocks run`: the response from the command
line. Actions are recorded in the store as timeline events, exactly as the replay and the
dashboard record them; a running service picks them up from there."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Connection

from monitor import cli_options
from monitor.clock import SHANGHAI, Clock, SimClock, WallClock, local_minute
from monitor.config import Settings, load_settings, parse_duration
from monitor.errors import MonitorError
from monitor.incidents.engine import MILESTONE_KINDS, ActionError, Changes, apply_action
from monitor.incidents.intake import CHANNELS, Intake, check, open_by_hand, store_intake_item
from monitor.incidents.replay import event_json
from monitor.incidents.settings import LEVELS, load_incident_settings
from monitor.records import Incident, IncidentStatus, TimelineEvent
from monitor.response.clocks import Clocks, planned_start
from monitor.response.policy import ROLES, load_policy
from monitor.response.roster import load_roster
from monitor.response.stage import ResponseStage
from monitor.store import Store
from monitor.store.deliveries import add_silence
from monitor.store.incidents import (
    append_timeline,
    apply_changes,
    get_incident,
    list_incidents,
    timeline_of,
)
from monitor.store.response import deadlines_of, get_clock, pending_actions
from monitor.store.response import item_time as first_item_time

_config = cli_options.config
_db = cli_options.db
_by = click.option("--by", "by", required=True, envvar="MONITOR_USER",
                   help="Who acts (a name from the roster); default $MONITOR_USER.")
_json = click.option("--json", "as_json", is_flag=True, help="JSON instead of text.")


def _time(text: str | None) -> datetime | None:
    return None if text is None else cli_options.parse_time(text)


@click.group()
def incident() -> None:
    """List incidents, show one, and record what was done about it."""


@incident.command("list")
@_config
@_db
@click.option("--all", "show_all", is_flag=True, help="Closed, dismissed and merged ones too.")
@_json
def list_command(config: Path | None, db: str | None, show_all: bool, as_json: bool) -> None:
    """Incidents, newest first, with their next deadline."""
    settings = load_settings(config, database=db)

    def read(conn: Connection) -> list[tuple[Incident, Any]]:
        live = None if show_all else [IncidentStatus.OPEN, IncidentStatus.CONFIRMED,
                                      IncidentStatus.RESPONDING]
        rows = []
        for found in reversed(list_incidents(conn, live)):
            pending = [d for d in deadlines_of(conn, found.id) if d.status == "pending"]
            rows.append((found, min(pending, key=lambda d: d.due_at) if pending else None))
        return rows

    for found, deadline in cli_options.with_store(settings, read):
        level = found.level or f"{found.proposed_level or '—'}?"
        if as_json:
            click.echo(json.dumps({
                "id": found.id, "status": found.status.value, "level": found.level,
                "proposed_level": found.proposed_level, "title": found.title,
                "items": found.items, "opened_at": found.opened_at.isoformat(),
                "next_deadline": None if deadline is None else {
                    "key": deadline.key, "label": deadline.label,
                    "due": deadline.due_at.astimezone(SHANGHAI).isoformat()}},
                ensure_ascii=False))
        else:
            due = f"{deadline.label} {local_minute(deadline.due_at)}" if deadline else ""
            click.echo(f"#{found.id:<5} {level:<4} {found.status.value:<10} "
                       f"{local_minute(found.opened_at)}  {found.title}  {due}")


@incident.command("show")
@click.argument("incident_id", type=int)
@_config
@_db
@_json
def show_command(incident_id: int, config: Path | None, db: str | None, as_json: bool) -> None:
    """One incident: its clocks, deadlines and timeline."""
    settings = load_settings(config, database=db)

    def read(conn: Connection) -> tuple[Incident | None, Any, Any, Any]:
        events = timeline_of(conn, incident_id)
        return (get_incident(conn, incident_id), get_clock(conn, incident_id),
                deadlines_of(conn, incident_id), events)

    found, clock, deadlines, events = cli_options.with_store(settings, read)
    if found is None:
        raise MonitorError(f"no incident #{incident_id}; `monitor incident list --all` lists them")
    if as_json:
        for event in events:
            click.echo(json.dumps(event_json(event), ensure_ascii=False))
        return
    click.echo(f"#{found.id} {found.title}")
    click.echo(f"  status {found.status.value}, level {found.level or '—'} "
               f"(proposed {found.proposed_level or '—'}), {found.items} items from "
               f"{found.sources} sources")
    if clock is not None:
        click.echo(f"  clocks start {local_minute(clock.start_at)} ({clock.start_rule}); detected "
                   f"{local_minute(clock.detected_at)}, first item {local_minute(clock.first_item_at)}, "
                   f"occurred {local_minute(clock.occurred_at)}"
                   + (f"; stopped: {clock.stopped}" if clock.stopped else ""))
    for d in deadlines:
        click.echo(f"  {d.label:<20} due {local_minute(d.due_at)}  {d.status}"
                   + (f" {local_minute(d.met_at)}" if d.met_at else ""))
    for event in events:
        if event.type != "item_added":
            click.echo(f"  {local_minute(event.at)}  {event.type:<18} {event.actor}")


def _act(settings: Settings, incident_id: int, action: str, by: str,
         **fields: object) -> Incident:
    margin = load_incident_settings(settings.incidents_path).dismiss_margin
    now = WallClock().now()

    def record(conn: Connection) -> Incident:
        found = get_incident(conn, incident_id)
        if found is None:
            raise MonitorError(f"no incident #{incident_id}; `monitor incident list --all` "
                               "lists them")
        changes = Changes()
        try:
            updated = apply_action(found, action, by, now, changes, margin, fields)
        except ActionError as exc:
            raise MonitorError(str(exc)) from None
        apply_changes(conn, changes)
        return updated

    updated: Incident = cli_options.with_store(settings, record)
    click.echo(f"#{updated.id} {action}: recorded ({updated.status.value})")
    return updated


@incident.command("open")
@click.option("--title", required=True, help="What was reported, in a line (标题).")
@click.option("--text", default="", help="The report in full: who called, what they said.")
@click.option("--channel", type=click.Choice(CHANNELS), default="其他", show_default=True,
              help="How the office learned of it.")
@click.option("--at", "at", help="When the office learned of it (ISO 8601; default now); the "
                                 "clocks run from here.")
@click.option("--occurred", help="When the event itself happened, if known.")
@click.option("--level", type=click.Choice(LEVELS), help="Confirm this level at once.")
@click.option("--item-url", "item_urls", multiple=True,
              help="A stored item it is about (repeatable).")
@click.option("--region", help="The district or county, if known.")
@_by
@_config
@_db
@_json
def open_command(title: str, text: str, channel: str, at: str | None, occurred: str | None,
                 level: str | None, item_urls: tuple[str, ...], region: str | None, by: str,
                 config: Path | None, db: str | None, as_json: bool) -> None:
    """人工立案: open an incident from a call, an order from above, a journalist's question or
    a post, with its clocks running at once. Personal data in the report is de-identified."""
    settings = load_settings(config, database=db)
    now = WallClock().now()
    intake = Intake(title=title, by=by, at=_time(at) or now, channel=channel, text=text,
                    occurred=_time(occurred), level=level, item_urls=item_urls, region=region)
    policy = load_policy(settings.policy_path)
    public = [p.name for p in load_roster(settings.roster_path).people]
    margin = load_incident_settings(settings.incidents_path).dismiss_margin

    def record(conn: Connection) -> tuple[Incident, datetime]:
        try:
            check(intake, now)
            opened, _ = open_by_hand(conn, store_intake_item(conn, intake, now, public), now,
                                     margin, public)
        except ActionError as exc:
            raise MonitorError(str(exc)) from None
        return opened, first_item_time(conn, opened.first_item_id) or intake.at

    opened, first = cli_options.with_store(settings, record)
    start = planned_start(policy, intake.at, first, intake.occurred)
    planned = [(rule, start + timedelta(seconds=rule.within))
               for rule in policy.deadlines(level or LEVELS[-1])]
    if as_json:
        click.echo(json.dumps({
            "id": opened.id, "status": opened.status.value, "level": opened.level,
            "title": opened.title, "channel": channel,
            "opened_at": opened.opened_at.astimezone(SHANGHAI).isoformat(),
            "clocks": {"start": start.astimezone(SHANGHAI).isoformat(),
                       "start_rule": policy.clock_start, "deadlines": [
                           {"key": rule.key, "label": rule.label, "hard": rule.hard,
                            "due": due.astimezone(SHANGHAI).isoformat()}
                           for rule, due in planned]}}, ensure_ascii=False))
        return
    click.echo(f"#{opened.id} opened by hand ({channel}): {opened.title}")
    for rule, due in planned:
        click.echo(f"  {rule.label:<20} due {local_minute(due)}")
    click.echo("  the clocks start when the service (or `monitor clocks run`) reads it")


@incident.command("ack")
@click.argument("incident_id", type=int)
@_by
@_config
@_db
def ack_command(incident_id: int, by: str, config: Path | None, db: str | None) -> None:
    """Acknowledge: stops the escalation ladder, not the deadlines."""
    _act(load_settings(config, database=db), incident_id, "ack", by)


@incident.command("confirm")
@click.argument("incident_id", type=int)
@click.option("--level", type=click.Choice(LEVELS), help="Default: the proposed level.")
@_by
@_config
@_db
def confirm_command(incident_id: int, level: str | None, by: str, config: Path | None,
                    db: str | None) -> None:
    """Confirm the incident at a level (re-plans its deadlines from the same start)."""
    _act(load_settings(config, database=db), incident_id, "confirm", by, level=level)


@incident.command("milestone")
@click.argument("incident_id", type=int)
@click.option("--kind", type=click.Choice(MILESTONE_KINDS), required=True)
@click.option("--url", help="Where the release or the conference's record is published.")
@click.option("--document", help="Document number or file, when there is no URL.")
@click.option("--channel", help="Where it was published (官方微博, 政府网站, 发布会…).")
@click.option("--spokesperson", help="Who spoke.")
@click.option("--time", "when", help="When it happened (default: now).")
@_by
@_config
@_db
def milestone_command(incident_id: int, kind: str, url: str | None, document: str | None,
                      channel: str | None, spokesperson: str | None, when: str | None, by: str,
                      config: Path | None, db: str | None) -> None:
    """Record a response milestone with its evidence; it meets the deadlines it answers."""
    _act(load_settings(config, database=db), incident_id, "milestone", by, kind=kind, url=url,
         document=document, channel=channel, spokesperson=spokesperson, time=_time(when))


@incident.command("occurred")
@click.argument("incident_id", type=int)
@click.option("--time", "when", required=True, help="When the event itself happened.")
@_by
@_config
@_db
def occurred_command(incident_id: int, when: str, by: str, config: Path | None,
                     db: str | None) -> None:
    """Enter when the event happened (the clocks start there if the policy says so)."""
    _act(load_settings(config, database=db), incident_id, "occurred", by, time=_time(when))


@incident.command("dismiss")
@click.argument("incident_id", type=int)
@_by
@_config
@_db
def dismiss_command(incident_id: int, by: str, config: Path | None, db: str | None) -> None:
    """Not worth a response: the clocks stop; it comes back only if it grows past the margin."""
    _act(load_settings(config, database=db), incident_id, "dismiss", by)


@incident.command("close")
@click.argument("incident_id", type=int)
@_by
@_config
@_db
def close_command(incident_id: int, by: str, config: Path | None, db: str | None) -> None:
    """Close the incident: its clocks stop."""
    _act(load_settings(config, database=db), incident_id, "close", by)


@incident.command("silence")
@click.argument("incident_id", type=int)
@click.option("--for", "duration", required=True, help="How long, e.g. 2h or 30m.")
@click.option("--reason", required=True, help="Why the alerts may stay quiet.")
@_by
@_config
@_db
def silence_command(incident_id: int, duration: str, reason: str, by: str,
                    config: Path | None, db: str | None) -> None:
    """Keep the incident's alerts quiet for a while (a missed hard deadline of a level I or II
    incident still reaches leadership). Recorded on the timeline with owner and reason."""
    settings = load_settings(config, database=db)
    try:
        seconds = parse_duration(duration)
    except ValueError as exc:
        raise MonitorError(f"--for: {exc}") from None
    now = WallClock().now()
    until = now + timedelta(seconds=seconds)

    def record(conn: Connection) -> int:
        if get_incident(conn, incident_id) is None:
            raise MonitorError(f"no incident #{incident_id}; `monitor incident list --all` "
                               "lists them")
        silence = add_silence(conn, incident_id, by, reason, now, until)
        append_timeline(conn, [TimelineEvent(incident_id, now, "silence_set", by, {
            "silence": silence, "reason": reason,
            "until": until.astimezone(SHANGHAI).isoformat()})])
        return silence

    silence = cli_options.with_store(settings, record)
    click.echo(f"#{incident_id}: silence {silence} until {local_minute(until)} ({reason})")


@click.command()
@click.option("--at", "when", help="At this time instead of now (ISO 8601).")
@_config
@_json
def duty(when: str | None, config: Path | None, as_json: bool) -> None:
    """Who holds each role of the roster now (or at --at)."""
    settings = load_settings(config)
    roster = load_roster(settings.roster_path)
    at = _time(when) or WallClock().now()
    holders = {role: roster.on_duty(role, at) for role in ROLES}
    if as_json:
        click.echo(json.dumps({role: [{"id": p.id, "name": p.name,
                                       "channels": sorted(p.channels())} for p in people]
                               for role, people in holders.items()}, ensure_ascii=False))
        return
    click.echo(f"on duty at {at.astimezone(SHANGHAI).strftime('%Y-%m-%d %H:%M')}:")
    for role, people in holders.items():
        names = ", ".join(f"{p.name} ({'/'.join(sorted(p.channels())) or 'no channel'})"
                          for p in people) or "nobody"
        click.echo(f"  {role:<17} {names}")


@click.group()
def clocks() -> None:
    """The response clocks."""


@clocks.command("run")
@click.option("--until", "until", help="Act as if it were this time (ISO 8601), to check a "
                                       "policy on a copy of the database; default: now.")
@_config
@_db
def run_command(until: str | None, config: Path | None, db: str | None) -> None:
    """Follow the timeline and carry out everything due, then exit: what the service does
    continuously, once (after maintenance, or to catch up without starting it)."""
    settings = load_settings(config, database=db)
    target = _time(until)
    clock: Clock = SimClock(target) if target is not None else WallClock()
    store = Store(settings.database_url)
    try:
        stage = ResponseStage(store, Clocks(load_policy(settings.policy_path),
                                            load_roster(settings.roster_path)), clock)

        async def once() -> tuple[int, int]:
            events = await stage.process_events()
            return events, await stage.run_due()

        events, done = asyncio.run(once())
        pending = store.transaction(pending_actions)
    finally:
        store.close()
    nxt = f"; next at {local_minute(pending[0].due_at)}" if pending else ""
    click.echo(f"{events} timeline events followed, {done} due actions done, "
               f"{len(pending)} pending{nxt}")
