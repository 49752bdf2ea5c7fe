"""The `monitor` command line. Logging is configured here and nowhere else."""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
import stat
import sys
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from functools import wraps
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, ParamSpec, TypeVar
from urllib.parse import urlsplit

import click

from monitor import cli_options
from monitor.clock import SHANGHAI, WallClock
from monitor.config import Settings, SourceList, load_settings, load_settings_sources
from monitor.errors import MonitorError
from monitor.gc_thresholds import collect_less
from monitor.records import Item, Source

# Each command imports what it needs, so that `monitor classify` does not wait for the
# database, HTTP and clustering libraries to load.
if TYPE_CHECKING:
    from monitor.collect.poller import PollReport

log = logging.getLogger("monitor")
P = ParamSpec("P")
R = TypeVar("R")

_config = cli_options.config
_db = cli_options.db
_log_level = click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"],
                                                          case_sensitive=False),
                          default="INFO", show_default=True, callback=lambda _c, _p, v: v.upper(),
                          help="How much the service logs.")
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


class _Commands(click.Group):
    """The command groups of other packages, imported only when one of them is run (or
    listed by --help)."""

    lazy: ClassVar[dict[str, str]] = {
        "incident": "monitor.response.commands", "duty": "monitor.response.commands",
        "clocks": "monitor.response.commands", "alerts": "monitor.notify.commands",
        "user": "monitor.web.commands", "report": "monitor.evaluate.commands"}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            command = getattr(importlib.import_module(self.lazy[cmd_name]), cmd_name)
            subcommands = command.commands.values() if isinstance(command, click.Group) else []
            for each in (command, *subcommands):
                if each.callback is not None:
                    each.callback = _errors_to_exit(each.callback)
            self.add_command(command)
        return super().get_command(ctx, cmd_name)


@click.group(cls=_Commands)
@click.version_option(package_name="health-opinion-monitor")
def main() -> None:
    """Health public-opinion (舆情) monitoring and response service."""
    collect_less()


@main.command()
@_config
@_db
@_sources
@click.option("--host", help="Address to listen on (default from settings: 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default from settings: 8080).")
@_log_level
@_errors_to_exit
def run(config: Path | None, db: str | None, sources: Path | None, host: str | None,
        port: int | None, log_level: str) -> None:
    """Run the service: collectors on their schedules and the web server."""
    from aiohttp import web

    from monitor.app import SHUTDOWN_S, build_app, stop_once_on_signals

    _logging(getattr(logging, log_level))
    settings = load_settings(config, database=db, sources=sources)
    app = build_app(settings)
    app.on_startup.append(stop_once_on_signals)
    web.run_app(app, host=host or settings.web.host, port=port or settings.web.port,
                print=lambda text: log.info("%s", text.strip()), handle_signals=True,
                shutdown_timeout=SHUTDOWN_S)


@main.command()
@_config
@click.option("--db", "db", metavar="URL",
              help="Database URL (default: a fresh temporary database).")
@click.option("--speed", type=click.FloatRange(1, 10_000), default=288.0, show_default=True,
              help="How much faster than real time the scenario runs (288: 48 h in 10 min).")
@click.option("--port", type=int, help="Port for the service (default from settings: 8080).")
@_log_level
@_errors_to_exit
def demo(config: Path | None, db: str | None, speed: float, port: int | None,
         log_level: str) -> None:
    """Run the service on the bundled 48-hour scenario, served by a local feed server on an
    accelerated clock; no network needed."""
    import tempfile

    from aiohttp import web

    from monitor.app import SHUTDOWN_S, stop_once_on_signals
    from monitor.demo.serve import demo_app

    _logging(getattr(logging, log_level))
    with tempfile.TemporaryDirectory(prefix="monitor-demo-") as scratch:
        settings = load_settings(config, database=db or f"sqlite:///{Path(scratch) / 'demo.db'}")
        if port is not None:
            settings = replace(settings, web=settings.web.model_copy(update={"port": port}))
        shell = demo_app(settings, speed)
        shell.on_startup.append(stop_once_on_signals)
        web.run_app(shell, host="127.0.0.1", port=0,
                    print=lambda text: None, handle_signals=True, shutdown_timeout=SHUTDOWN_S)


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
    source_list = load_settings_sources(settings)
    # naming a source polls it even if it is disabled
    chosen = ([replace(source_list.by_name(n), enabled=True) for n in only] if only
              else source_list.sources)
    reports = asyncio.run(_fetch_once(settings, chosen, source_list))
    if as_json:
        click.echo(json.dumps([_report_json(r) for r in reports], ensure_ascii=False, indent=2))
    else:
        click.echo(_report_table(reports))
    if reports and all(r.error for r in reports):
        sys.exit(1)


@main.command("sources")
@_config
@_sources
@_errors_to_exit
def sources_command(config: Path | None, sources: Path | None) -> None:
    """List the sources as the service reads them, defaults included, and each host's
    limits: what a sources.yaml of names and URLs was taken to mean."""
    from monitor.collect.fetch import Fetcher

    settings = load_settings(config, sources=sources)
    source_list = load_settings_sources(settings)
    click.echo(f"{settings.sources_path}: {len(source_list.sources)} sources "
               f"({sum(s.enabled for s in source_list.sources)} enabled)")
    header = ("name", "kind", "media", "region", "interval", "host", "enabled")
    rows = []
    for s in source_list.sources:
        def shown(key: str, value: str, source: Source = s) -> str:
            return value + ("*" if key in source.assumed else "")
        rows.append((s.name, shown("kind", s.kind.value), shown("media", s.media.value),
                     shown("region", s.region), f"{s.interval_s // 60}m",
                     urlsplit(s.url).hostname or "", "yes" if s.enabled else "no"))
    click.echo(_table(header, rows))
    if any(s.assumed for s in source_list.sources):
        click.echo("* not in the file, assumed: kind told from each response, media unknown "
                   "(其他), region the jurisdiction's")
    fetcher = Fetcher.for_sources(settings.fetch, source_list)
    enabled = [s for s in source_list.sources if s.enabled]
    long = fetcher.long_rounds(enabled)
    hosts = sorted({urlsplit(s.url).hostname or "" for s in enabled})
    host_rows = []
    for host in hosts:
        limits = fetcher.throttle.of(host)
        count = sum(1 for s in enabled if urlsplit(s.url).hostname == host)
        note = "rsshub" if host == source_list.rsshub_host else ""
        if host in long:
            note = (note + ", " if note else "") + f"a round takes at least {long[host][1]:.0f} s"
        host_rows.append((host, str(count), str(limits.concurrency), f"{limits.gap:g}s", note))
    click.echo("")
    click.echo(_table(("host", "sources", "at once", "gap", "note"), host_rows))


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(_columns(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(cell + " " * (w - _columns(cell))
                               for cell, w in zip(row, widths, strict=True)).rstrip()
                     for row in [header, *rows])


def _columns(text: str) -> int:
    """Terminal columns: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


async def _fetch_once(settings: Settings, sources: list[Source],
                      source_list: SourceList) -> list[PollReport]:
    from monitor.collect.fetch import Fetcher
    from monitor.collect.poller import Poller, parser_pool
    from monitor.store import Store

    store = Store(settings.database_url)
    fetcher = Fetcher.for_sources(settings.fetch, source_list)
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
    from monitor.analyze.jsonl import signal_json
    from monitor.store import Store
    from monitor.store.items import list_items
    from monitor.store.signals import signals_for

    settings = load_settings(config, database=db)
    start = _parse_since(since) if since else None
    store = Store(settings.database_url)
    try:
        rows = store.transaction(lambda c: list_items(c, since=start, source=source, limit=limit))
        signals = store.transaction(lambda c: signals_for(c, [i.id for i in rows if i.id]))
    finally:
        store.close()
    for item in rows:
        if jsonl:
            signal = signals.get(item.id or 0)
            record = _item_json(item)
            record["signal"] = signal_json(item.id, signal) if signal else None
            click.echo(json.dumps(record, ensure_ascii=False))
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


# --- analysis ---------------------------------------------------------------------------------


@main.command()
@_config
@_db
@click.option("--corpus", "corpus_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Corpus directory of *.jsonl files (default: models/corpus).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where to write classifier.npz and its card (default: the models directory).")
@click.option("--with-feedback", is_flag=True, help="Also learn from labels stored with "
                                                    "`monitor label` (needs the database).")
@click.option("--folds", type=click.IntRange(2, 20), default=5, show_default=True,
              help="Cross-validation folds.")
@click.option("--styles/--no-styles", "by_style", default=True, show_default=True,
              help="Also score each style trained without it (leave-one-style-out).")
@click.option("--json", "as_json", is_flag=True, help="Print the model card as JSON.")
@_errors_to_exit
def train(config: Path | None, db: str | None, corpus_dir: Path | None, out_dir: Path | None,
          with_feedback: bool, folds: int, by_style: bool, as_json: bool) -> None:
    """Rebuild the classifier from the corpus; print cross-validated and leave-one-style-out
    precision, recall, F1 and ROC AUC."""
    from monitor.analyze import train as t
    from monitor.analyze.analyzer import make_doc, make_segmenter
    from monitor.analyze.cues import load_tone
    from monitor.analyze.lexicon import TAXONOMY_PATH, TONE_PATH, load_profile, load_taxonomy
    from monitor.analyze.model import save_model
    from monitor.analyze.text import normalize
    from monitor.store import Store
    from monitor.store.labels import latest_labels

    settings = load_settings(config, database=db)
    elapsed = t.timed()
    topics = [topic.key for topic in load_taxonomy(TAXONOMY_PATH)]
    outputs = ["health", *topics, "negative"]
    corpus = t.read_corpus(corpus_dir or settings.models_dir / "corpus", topics)
    feedback: list[t.Example] = []
    if with_feedback:
        store = Store(settings.database_url)
        try:
            feedback = t.feedback_examples(store.transaction(latest_labels))
        finally:
            store.close()
        corpus = t.add_feedback(corpus, feedback)
    _say(f"{len(corpus.examples)} examples ({len(feedback)} from feedback), "
         f"corpus sha256 {corpus.sha256[:12]}")
    segmenter = make_segmenter(load_profile(settings.profile_path))
    tone = load_tone(TONE_PATH)
    docs = [make_doc(segmenter, normalize(ex.text), tone, ex.text) for ex in corpus.examples]
    Y = t.targets(corpus.examples, topics)
    P = t.out_of_fold(docs, Y, segmenter.stopwords, folds, progress=_say)
    metrics = t.scores_of(Y, P, outputs)
    styles = (t.leave_one_style_out(docs, Y, [ex.style for ex in corpus.examples], outputs, P,
                                    segmenter.stopwords, progress=_say) if by_style else [])
    _say("fitting the final model on every example")
    model = t.fit(docs, Y, outputs, segmenter.stopwords, {})
    card = t.model_card(corpus, metrics, segmenter.fingerprint, WallClock().now(), elapsed(),
                        len(feedback), styles, tone.fingerprint)
    out = out_dir or settings.models_dir
    card = save_model(out, replace(model, card=card))
    if as_json:
        click.echo(json.dumps(card, ensure_ascii=False, indent=2))
        return
    click.echo(f"{'output':<16} {'precision':>9} {'recall':>7} {'F1':>6} {'AUC':>6} "
               f"{'positives':>9}")
    for name, s in metrics.items():
        click.echo(f"{name:<16} {s.precision:>9.3f} {s.recall:>7.3f} {s.f1:>6.3f} "
                   f"{_auc(s.auc):>6} {s.support:>9}")
    click.echo(f"({folds}-fold cross-validation)")
    if styles:
        click.echo(f"\n{'held-out style':<16} {'texts':>6} {'health F1':>10} {'(in style)':>10} "
                   f"{'negative AUC':>13} {'(in style)':>10}")
        for row in styles:
            health, negative = row.held_out["health"], row.held_out["negative"]
            click.echo(f"{row.style:<16} {row.examples:>6} {health.f1:>10.3f} "
                       f"{row.in_style['health'].f1:>10.3f} {_auc(negative.auc):>13} "
                       f"{_auc(row.in_style['negative'].auc):>10}")
        click.echo("(leave-one-style-out: trained without the style, tested on it; in style: "
                   "the same texts under cross-validation)")
    click.echo(f"wrote {out / 'classifier.npz'} (sha256 {card['model_sha256'][:12]}) and its "
               f"card in {elapsed():.1f} s")


def _auc(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _say(text: str) -> None:
    click.echo(text, err=True)


@main.command()
@click.argument("text", required=False)
@_config
@click.option("--jsonl", is_flag=True, help='Read JSON Lines {"id", "title", "text"} from stdin, '
                                            "write one result a line.")
@click.option("--json", "as_json", is_flag=True, help="Print the result of TEXT as JSON.")
@_errors_to_exit
def classify(text: str | None, config: Path | None, jsonl: bool, as_json: bool) -> None:
    """Classify TEXT (or stdin): health score, topics, negativity, watch plans hit."""
    from monitor.analyze.analyzer import load_analyzer
    from monitor.analyze.jsonl import ModelPaths, classify_lines, signal_json

    if jsonl and text is not None:
        raise click.UsageError("give TEXT or --jsonl, not both")
    settings = load_settings(config)
    analyzer = load_analyzer(settings.profile_path, settings.plans_path, settings.models_dir)
    if not jsonl:
        if text is None or text == "-":
            text = sys.stdin.read()
        result = signal_json(None, analyzer.analyze([("", text)])[0])
        if as_json:
            click.echo(json.dumps(result, ensure_ascii=False))
        else:
            click.echo(_signal_text(result, {t.key: t.name for t in analyzer.topics}))
        return
    paths = ModelPaths(settings.profile_path, settings.plans_path, settings.models_dir)
    if classify_lines(analyzer, sys.stdin, sys.stdout.write, _say, paths).unreadable:
        sys.exit(1)


def _signal_text(result: dict[str, Any], names: dict[str, str]) -> str:
    verdict = "健康相关" if result["health"] else "非健康相关"
    head = (f"{verdict}  health {result['health_score']:.2f}  negative "
            f"{result['negative']:.2f}  risk {result['risk']:.2f}")
    lines = [head]
    if result["tone_terms"]:
        lines.append(f"  tone   {'、'.join(result['tone_terms'])}")
    if result["risk_terms"]:
        lines.append(f"  risk   {'、'.join(result['risk_terms'])}")
    lines += [f"  topic  {names.get(t['name'], t['name'])} ({t['name']}) {t['score']:.2f}"
              for t in result["topics"]]
    lines += [f"  plan   {p['name']}: {' '.join(p['matched'])}" for p in result["plans"]]
    if result["places"]:
        lines.append(f"  places {' '.join(result['places'])}")
    return "\n".join(lines)


@main.command()
@click.argument("item_id", type=int)
@click.option("--relevant/--irrelevant", required=True,
              help="Whether the item belongs to the health commission's field.")
@click.option("--topic", "topic_names", multiple=True,
              help="A topic key or name (repeatable), e.g. access_to_care or 就医保障.")
@click.option("--negative/--not-negative", default=None,
              help="Whether it is negative toward care, services or authorities.")
@click.option("--by", "by", default="cli", show_default=True, help="Who labels.")
@_config
@_db
@_errors_to_exit
def label(item_id: int, relevant: bool, topic_names: tuple[str, ...], negative: bool | None,
          by: str, config: Path | None, db: str | None) -> None:
    """Record a person's verdict on a stored item; `monitor train --with-feedback` learns it."""
    from monitor.analyze.lexicon import TAXONOMY_PATH, load_taxonomy
    from monitor.store import Store
    from monitor.store.labels import Label, add_label

    taxonomy = load_taxonomy(TAXONOMY_PATH)
    by_name = {t.key: t.key for t in taxonomy} | {t.name: t.key for t in taxonomy}
    unknown = [n for n in topic_names if n not in by_name]
    if unknown:
        raise click.BadParameter(f"unknown topic {', '.join(unknown)}; known: "
                                 + ", ".join(f"{t.key} ({t.name})" for t in taxonomy),
                                 param_hint="--topic")
    if topic_names and not relevant:
        raise click.UsageError("an irrelevant item has no topics; drop --topic or use --relevant")
    settings = load_settings(config, database=db)
    topics = tuple(dict.fromkeys(by_name[n] for n in topic_names)) or (None if relevant else ())
    entry = Label(item_id, relevant, topics, negative, by, WallClock().now())
    store = Store(settings.database_url)
    try:
        store.transaction(lambda conn: add_label(conn, entry))
    finally:
        store.close()
    click.echo(f"labelled item #{item_id}: {'relevant' if relevant else 'irrelevant'}"
               + (f", topics {', '.join(topics)}" if topics else "")
               + ("" if negative is None else f", negative={negative}"))


# --- incidents --------------------------------------------------------------------------------


@main.command("replay")
@click.argument("scenario", type=click.File("r", encoding="utf-8"))
@_config
@click.option("--db", "db", metavar="URL",
              help="Database URL (default: a fresh temporary database, so that replaying the "
                   "same file twice gives the same timeline).")
@_errors_to_exit
def replay_command(scenario: Any, config: Path | None, db: str | None) -> None:
    """Run SCENARIO (JSON Lines) through the whole pipeline on the simulated clock; print the
    incident timeline as JSON Lines."""
    import tempfile

    _logging(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="monitor-replay-") as scratch:
        url = db or f"sqlite:///{Path(scratch) / 'replay.db'}"
        settings = load_settings(config, database=url)
        report = asyncio.run(_replay(settings, scenario, durable=db is not None))
    _say(f"{report.items} items, {report.actions} actions, {report.events} timeline events"
         + (f", {report.errors} lines with errors" if report.errors else ""))
    if report.errors:
        sys.exit(1)


async def _replay(settings: Settings, lines: Iterable[str], durable: bool) -> Any:
    from monitor.analyze.analyzer import load_analyzer
    from monitor.analyze.stage import AnalysisStage
    from monitor.clock import SimClock
    from monitor.incidents import make_engine
    from monitor.incidents.prepare import Models
    from monitor.incidents.replay import replay, with_progress
    from monitor.incidents.settings import load_incident_settings
    from monitor.incidents.stage import IncidentStage
    from monitor.response.clocks import Clocks
    from monitor.response.policy import load_policy
    from monitor.response.roster import load_roster
    from monitor.response.stage import ResponseStage
    from monitor.store import Store

    analyzer = load_analyzer(settings.profile_path, settings.plans_path, settings.models_dir)
    engine = make_engine(analyzer, load_incident_settings(settings.incidents_path))
    policy, roster = load_policy(settings.policy_path), load_roster(settings.roster_path)
    weights = _source_weights(settings)
    store = Store(settings.database_url, durable)
    try:
        steps = iter(lines)
        first = next((line for line in steps if line.strip()), None)
        if first is None:
            raise MonitorError("the scenario is empty")
        start = _scenario_start(first)
        clock = SimClock(start)
        analysis = AnalysisStage(store, analyzer, clock)
        incidents = IncidentStage(store, engine, clock, weights)
        response = ResponseStage(store, Clocks(policy, roster), clock)
        size = _file_size(lines)
        return await replay(with_progress(chain([first], steps), _say, clock.now, size),
                            store, analysis, incidents, clock,
                            emit=lambda e: click.echo(json.dumps(e, ensure_ascii=False)),
                            on_error=lambda m: click.echo(f"error: {m}", err=True),
                            response=response,
                            models=Models(settings.profile_path, settings.plans_path,
                                          settings.models_dir, settings.incidents_path,
                                          after_lines=_second_process_after(size)))
    finally:
        store.close()


def _file_size(scenario: Iterable[str]) -> int | None:
    """The size of a scenario read from a regular file, else None (a pipe, a list)."""
    try:
        status = os.fstat(scenario.fileno())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return None
    return status.st_size if stat.S_ISREG(status.st_mode) else None


def _second_process_after(size: int | None) -> int:
    """A scenario file known to be long is prepared in a second process from the start."""
    from monitor.incidents.prepare import SECOND_PROCESS_AFTER, SECOND_PROCESS_BYTES

    return 0 if size is not None and size >= SECOND_PROCESS_BYTES else SECOND_PROCESS_AFTER


def _scenario_start(first_line: str) -> datetime:
    try:
        at = json.loads(first_line)["at"]
        when = datetime.fromisoformat(at)
    except (ValueError, KeyError, TypeError):
        raise MonitorError("line 1 of the scenario has no valid 'at' time") from None
    return when if when.tzinfo else when.replace(tzinfo=SHANGHAI)


def _source_weights(settings: Settings) -> dict[str, float]:
    try:
        return {s.name: s.weight for s in load_settings_sources(settings).sources}
    except MonitorError:
        return {}
