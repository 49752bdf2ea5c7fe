"""`monitor report …`: an incident's evaluation and the evaluator's decisions on its findings,
the incident report (专报) and the period reports, in HTML, Markdown, DOCX or PDF."""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Connection

from monitor import cli_options
from monitor.clock import SHANGHAI, WallClock
from monitor.config import Settings, load_settings
from monitor.errors import MonitorError
from monitor.evaluate.assess import DECISIONS, assess, decide, record_evaluation
from monitor.evaluate.document import Document
from monitor.evaluate.findings import GROUNDS, MEASURES, load_rules
from monitor.evaluate.formats import FORMATS, to_docx, to_html, to_markdown
from monitor.evaluate.reports import (
    LAST,
    Context,
    context_for,
    incident_report,
    incident_sections,
    period_report,
    usual_periods,
)

_config = cli_options.config
_db = cli_options.db
_at = click.option("--at", "at", help="Evaluate as of this time (ISO 8601, Beijing time if no "
                                      "offset); default now.")
_format = click.option("--format", "fmt", type=click.Choice(FORMATS), default="html",
                       show_default=True)
_output = click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                       help="Write here; HTML and Markdown go to stdout without it.")


def _when(text: str | None) -> datetime:
    return WallClock().now() if text is None else cli_options.parse_time(text)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise MonitorError(f"not a date: {text!r} (e.g. 2026-03-02)") from None


def context(settings: Settings, now: datetime) -> Context:
    # the whole alerting configuration is checked, as every command does, though a report
    # needs only the roster from it
    from monitor.notify.alerting import load_alerting

    return context_for(load_alerting(settings).roster, settings.profile_path)(now)


def render(doc: Document, fmt: str) -> bytes:
    if fmt == "html":
        return to_html(doc).encode()
    if fmt == "md":
        return to_markdown(doc).encode()
    if fmt == "docx":
        return to_docx(doc)
    from monitor.evaluate.pdf import html_to_pdf
    return asyncio.run(html_to_pdf(to_html(doc)))


def _write(doc: Document, fmt: str, output: Path | None) -> None:
    if output is None and fmt in ("docx", "pdf"):
        raise MonitorError(f"{fmt.upper()} is a binary file: give -o FILE")
    data = render(doc, fmt)
    if output is None:
        sys.stdout.write(data.decode())
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise MonitorError(f"cannot write {output}: {exc.strerror}; check the folder exists "
                           "and is writable") from None
    click.echo(f"wrote {output} ({len(data):,} bytes)", err=True)


@click.group()
def report() -> None:
    """Evaluate incidents, decide on findings, and write the reports."""


@report.command("evaluate")
@click.argument("incident_id", type=int)
@_config
@_db
@_at
@click.option("--record", is_flag=True, help="Put the evaluation on the timeline as it stands.")
@click.option("--by", envvar="MONITOR_USER", help="Who records it; default $MONITOR_USER.")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of text.")
def evaluate_command(incident_id: int, config: Path | None, db: str | None, at: str | None,
                     record: bool, by: str | None, as_json: bool) -> None:
    """An incident's evaluation and the accountability findings proposed from it."""
    settings = load_settings(config, database=db)
    now = _when(at)
    if record and not by:
        raise MonitorError("--record needs --by NAME (or $MONITOR_USER)")

    def run(conn: Connection) -> Any:
        a = assess(conn, incident_id, now, load_rules())
        if record:
            record_evaluation(conn, a, str(by), now)
        return a

    a = cli_options.with_store(settings, run)
    ev, proposal = a.evaluation, a.proposal
    if as_json:
        click.echo(json.dumps({
            "evaluation": {**asdict(ev), "score": ev.score},
            "deadlines": {d.key: d.state for d in ev.deadlines},
            "proposal": {"findings": [{"ground": f.ground, "name": f.name, "facts": f.facts}
                                      for f in proposal.findings],
                         "measure": proposal.measure, "why": proposal.why},
            "decisions": {g: asdict(d) for g, d in a.decisions.items()},
        }, ensure_ascii=False, default=str))
        return
    doc = Document("", "")
    incident_sections(doc, a, context(settings, now), full=False)
    click.echo(f"#{incident_id} {a.incident.title}")
    click.echo(to_markdown(doc).strip())


@report.command("decide")
@click.argument("incident_id", type=int)
@click.argument("ground", type=click.Choice(list(GROUNDS)))
@click.argument("decision", type=click.Choice(list(DECISIONS)))
@click.option("--reason", required=True, help="Why, in words the unit will read.")
@click.option("--measure", type=click.Choice(list(MEASURES)),
              help="The measure; confirmed takes the proposed one without it.")
@click.option("--unit", help="The unit held accountable, when not the incident's own health "
                             "authority.")
@click.option("--by", required=True, envvar="MONITOR_USER",
              help="The evaluator; default $MONITOR_USER.")
@_config
@_db
def decide_command(incident_id: int, ground: str, decision: str, reason: str,
                   measure: str | None, unit: str | None, by: str, config: Path | None,
                   db: str | None) -> None:
    """Confirm, change or reject one accountability finding, with a reason."""
    settings = load_settings(config, database=db)
    now = WallClock().now()

    def run(conn: Connection) -> Any:
        return decide(conn, assess(conn, incident_id, now, load_rules()), ground, decision,
                      measure, reason, by, now, unit)

    event = cli_options.with_store(settings, run)
    click.echo(f"#{incident_id} {event.data['name']}: {decision}"
               f"{'' if event.data['measure'] is None else ' → ' + str(event.data['measure'])}")


@report.command("incident")
@click.argument("incident_id", type=int)
@_format
@_output
@_config
@_db
@_at
def incident_command(incident_id: int, fmt: str, output: Path | None, config: Path | None,
                     db: str | None, at: str | None) -> None:
    """The incident report (专报)."""
    settings = load_settings(config, database=db)
    ctx = context(settings, _when(at))
    _write(cli_options.with_store(settings, lambda c: incident_report(c, incident_id, ctx)), fmt, output)


@report.command("period")
@click.option("--from", "start", help="First day, e.g. 2026-03-02.")
@click.option("--to", "end", help="Last day, inclusive.")
@click.option("--last", "last_period", type=click.Choice(list(LAST)),
              help="Instead of the dates: yesterday, last week (Monday to Sunday), last month "
                   "or last quarter, as of --at.")
@_format
@_output
@_config
@_db
@_at
def period_command(start: str | None, end: str | None, last_period: str | None, fmt: str,
                   output: Path | None, config: Path | None, db: str | None,
                   at: str | None) -> None:
    """日报, 周报, 月报 or 季报 (named by the dates), or a report over any span."""
    settings = load_settings(config, database=db)
    ctx = context(settings, _when(at))
    if last_period is not None:
        if start or end:
            raise MonitorError("give either --last or --from and --to, not both")
        _, first, last = usual_periods(ctx.now.astimezone(SHANGHAI).date())[LAST[last_period]]
    elif start and end:
        first, last = _day(start), _day(end)
    else:
        raise MonitorError("give --from and --to (e.g. --from 2026-03-02 --to 2026-03-08), or "
                           "--last day|week|month|quarter")
    if last < first:
        raise MonitorError(f"--to {last} is before --from {first}")

    def progress(done: int, total: int) -> None:
        if total >= 50 and (done % max(total // 10, 1) == 0 or done == total):
            click.echo(f"evaluated {done}/{total} incidents", err=True)

    _write(cli_options.with_store(settings, lambda c: period_report(c, first, last, ctx, progress)),
           fmt, output)
