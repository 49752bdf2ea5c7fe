"""The service: the dashboard and the API in every process, and the pipeline (collect,
analyse, incidents, clocks, alerts, reports) in the one that leads it (leadership.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.web_runner import GracefulExit

from monitor.analyze.analyzer import load_analyzer
from monitor.analyze.stage import AnalysisStage
from monitor.clock import Clock, WallClock
from monitor.collect.fetch import Fetcher
from monitor.collect.poller import Poller, PollReport, parser_pool
from monitor.config import Settings, SourceList, load_settings_sources
from monitor.evaluate.daily import DailyReports, daily_targets
from monitor.evaluate.reports import context_for
from monitor.incidents import make_engine
from monitor.incidents.engine import Engine
from monitor.incidents.settings import load_incident_settings
from monitor.incidents.stage import IncidentStage
from monitor.leadership import PIPELINE, Leadership
from monitor.notify.alerting import load_alerting
from monitor.notify.sender import Links, Sender
from monitor.notify.web import ACK_SECRET_ENV, ack_routes, ack_secret, ack_url
from monitor.records import FetchStatus
from monitor.response.clocks import Clocks
from monitor.response.policy import load_policy
from monitor.response.stage import ResponseStage
from monitor.store import Store
from monitor.store.incidents import list_incidents
from monitor.store.leases import current
from monitor.store.signals import backlog
from monitor.store.sources import all_health
from monitor.web import templates
from monitor.web.analysis import IncidentAnalysis
from monitor.web.api import action_routes
from monitor.web.auth import USER, Auth
from monitor.web.browse import Browse
from monitor.web.openapi import openapi
from monitor.web.pages import Pages, static_script
from monitor.web.reports import ReportPages
from monitor.web.security import STATIC, security_headers
from monitor.web.situation import SituationPages

log = logging.getLogger(__name__)

STORE = web.AppKey("store", Store)
INCIDENTS = web.AppKey("incidents", IncidentStage)
LEADERSHIP = web.AppKey("leadership", Leadership)
SOURCES = web.AppKey("sources", SourceList)


# How long a stopping web server waits for requests in progress (aiohttp's default is 60 s):
# the dashboard's requests are short, and a stop must not outlast a supervisor's patience.
SHUTDOWN_S = 10.0


def build_app(settings: Settings, clock: Clock | None = None, poll: bool = True,
              sources: SourceList | None = None, send_alerts: bool = True) -> web.Application:
    """Everything the service runs, owned by the app's cleanup context so that Ctrl-C or
    SIGTERM stops the pollers, lets the store finish its transaction and closes the session.
    ``sources`` replaces the sources file (the demo serves its own feeds)."""
    given = sources
    # a bad file fails before anything starts
    sources = sources or load_settings_sources(settings)
    analyzer = load_analyzer(settings.profile_path, settings.plans_path, settings.models_dir)
    incident_settings = load_incident_settings(settings.incidents_path)
    alerting = load_alerting(settings)
    roster, channels, routing, reports = (alerting.roster, alerting.channels, alerting.routing,
                                          alerting.reports)
    clocks = Clocks(load_policy(settings.policy_path), roster)
    report_context = context_for(roster, settings.profile_path)
    public = settings.web.public_url or f"http://{settings.web.host}:{settings.web.port}"
    secret = ack_secret()
    if send_alerts and secret is None:
        log.warning("%s is not set: alerts go out without acknowledgement links", ACK_SECRET_ENV)
    clock_ = clock or WallClock()
    auth = Auth(lambda: app[STORE], clock_, settings.web.trusted_proxies, settings.web.public_url)
    app = web.Application(middlewares=[auth.middleware])
    app.router.add_routes(auth.routes())
    app[SOURCES] = sources
    app.on_response_prepare.append(security_headers)
    templates.setup(app)
    app.router.add_get(STATIC + "{name}", static_script)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/incidents", incidents_json)
    app.router.add_get("/api/openapi.json", openapi)

    async def start(app: web.Application, opened: contextlib.AsyncExitStack) -> None:
        """Open the store, the stages and the sessions, each closed by ``opened``. The web
        server runs in every process; the pipeline only while this process leads it."""
        store = Store(settings.database_url)
        opened.callback(store.close)
        app[STORE] = store
        # the pipeline writes through the lease's fence; people's actions through ``store``
        pipeline = store.fenced(lambda conn: leadership.check(conn))
        fetcher = Fetcher.for_sources(settings.fetch, sources)
        opened.push_async_callback(fetcher.close)
        pool = parser_pool()
        opened.callback(pool.shutdown)
        stage = AnalysisStage(pipeline, analyzer, clock_)
        weights = {s.name: s.weight for s in sources.sources}
        incidents = IncidentStage(pipeline, make_engine(analyzer, incident_settings), clock_,
                                  weights)
        app[INCIDENTS] = incidents
        response = ResponseStage(pipeline, clocks, clock_)
        stage.on_analysed = incidents.wake
        incidents.on_timeline = response.wake
        app.router.add_routes(ack_routes(store, incidents, roster, clock_, secret))
        app.router.add_routes(action_routes(incidents, clock_))
        pages = Pages(store, incidents, roster, clock_)
        pages.role = lambda: (leadership.role, leadership.holder)
        analysis = IncidentAnalysis(store, analyzer, sources, report_context, clock_)
        pages.analysis = analysis.section
        app.router.add_routes(pages.routes())
        app.router.add_routes(analysis.routes())
        app.router.add_routes(Browse(store, analyzer, sources, clock_).routes())
        app.router.add_routes(ReportPages(store, report_context, clock_).routes())
        situation = SituationPages(store, analyzer, sources, clock_, report_context,
                                   settings.fetch.max_interval)
        app.router.add_routes(situation.routes())
        situation.start()  # counts the last month ahead of the first reader
        opened.push_async_callback(situation.close)
        session = aiohttp.ClientSession()
        opened.push_async_callback(session.close)
        links = Links(lambda i: f"{public.rstrip('/')}/incidents/{i}",
                      lambda row, channel: ack_url(public, secret, clock_, row, channel))
        sender = Sender(pipeline, channels, routing, roster, clock_, session, links)
        response.on_outbox = sender.wake

        def on_report(report: PollReport) -> None:
            if report.new:
                stage.wake()

        poller = Poller(pipeline, fetcher, clock_, on_report=on_report, parse_executor=pool)
        daily = DailyReports(pipeline, reports.daily.at,
                             daily_targets(reports, roster, channels, session, clock_),
                             clock_, report_context, settings.web.public_url) \
            if send_alerts and reports.enabled else None
        work = _Pipeline(stage, incidents, response, sender if send_alerts else None, poller,
                         daily, sources, lambda: make_engine(analyzer, incident_settings), poll)
        leadership = Leadership(store, settings.pipeline.lease, work.start, work.stop)
        app[LEADERSHIP] = leadership
        incidents.leading = lambda: leadership.role == "leader"
        if not await leadership.try_to_lead():
            holder = await leadership.holder_now()
            log.warning("standing by: %s leads the pipeline; this process serves the dashboard "
                        "and takes over if it stops", holder.holder if holder else "another "
                        "process")
        beat = asyncio.create_task(leadership.run(), name="leadership")
        # closed first: the stages stop, then the lease is handed on
        opened.push_async_callback(_stop, [beat])
        opened.push_async_callback(work.stop)
        enabled = sum(s.enabled for s in sources.sources)
        origin = settings.sources_path if given is None else "the caller"
        log.info("started: %d sources (%d enabled) from %s, database %s", len(sources.sources),
                 enabled, origin, _safe_url(settings.database_url))
        log.info("analysis: model %s, %d watch plans from %s, profile %s",
                 analyzer.model.ident, len(analyzer.plans.plans), settings.plans_path,
                 settings.profile_path)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        # what start() opened is closed in reverse order when the service stops, and also when
        # it is stopped (a restart's SIGTERM) or fails while it is still starting
        async with contextlib.AsyncExitStack() as opened:
            await start(app, opened)
            yield
            log.info("stopping: waiting for running fetches to finish their writes")
        log.info("stopped cleanly")

    async def say_stopping(app: web.Application) -> None:
        log.info("shutting down: requests in progress get up to %.0f s to finish", SHUTDOWN_S)

    app.on_shutdown.append(say_stopping)
    app.cleanup_ctx.append(lifecycle)
    return app


@dataclass
class _Pipeline:
    """The stages that run only in the process leading the pipeline."""

    analysis: AnalysisStage
    incidents: IncidentStage
    response: ResponseStage
    sender: Sender | None  # None: alerts are not sent from this process
    poller: Poller
    daily: DailyReports | None
    sources: SourceList
    new_engine: Callable[[], Engine]
    poll: bool
    running: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        # afresh: the engine's memory is rebuilt from the store, whoever led before
        self.incidents.rebuild(self.new_engine())
        await self.incidents.restore()
        wanted: list[tuple[str, Coroutine[Any, Any, None]]] = [
            ("analysis", self.analysis.run()), ("incidents", self.incidents.run()),
            ("response", self.response.run())]
        if self.sender is not None:
            wanted.append(("sender", self.sender.run()))
        if self.daily is not None:
            wanted.append(("daily-report", self.daily.run()))
        if self.poll:
            wanted.append(("pollers", self.poller.run(self.sources.sources)))
        self.running.extend(asyncio.create_task(run, name=name) for name, run in wanted)

    async def stop(self) -> None:
        tasks, self.running = self.running, []
        await _stop(tasks)


async def stop_once_on_signals(app: web.Application) -> None:
    """The first SIGTERM or SIGINT stops the service; later ones, which a supervisor sends to
    the whole process group again and again, are ignored instead of killing it mid-stop (the
    loop would otherwise give the signals back to their default action while it stops)."""
    loop = asyncio.get_running_loop()

    def stop() -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
            signal.signal(sig, signal.SIG_IGN)
        log.info("stop requested; further stop signals are ignored while stopping")
        raise GracefulExit

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)


async def _stop(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


async def healthz(request: web.Request) -> web.Response:
    """200 while the store answers; lists sources that are failing or gone."""
    app = request.app
    try:
        health = await app[STORE].run(all_health)
        waiting = await app[STORE].run(backlog)
    except Exception as exc:  # noqa: BLE001  (any store failure means unhealthy; say why)
        return web.json_response({"status": "error", "error": str(exc)}, status=503)
    failing = [
        {"source": h.source, "status": h.status.value if h.status else None,
         "consecutive_failures": h.consecutive_failures, "last_error": h.last_error}
        for h in health.values() if h.status in (FetchStatus.ERROR, FetchStatus.GONE)]
    enabled = [s for s in app[SOURCES].sources if s.enabled]
    leadership = app[LEADERSHIP]
    lease = await app[STORE].run(lambda c: current(c, PIPELINE))
    now = datetime.now(UTC)
    return web.json_response({"status": "ok", "sources": len(enabled),
                              "polled": sum(s.name in health for s in enabled),
                              "failing": failing, "analysis_backlog": waiting,
                              "role": leadership.role, "process": leadership.holder,
                              "lease": None if lease is None else {
                                  "holder": lease.holder, "generation": lease.generation,
                                  "held_s": round((now - lease.acquired_at).total_seconds()),
                                  "renewed_s_ago": round((now - lease.renewed_at)
                                                         .total_seconds(), 1)}})





async def incidents_json(request: web.Request) -> web.Response:
    """The incidents, newest first, as JSON, for signed-in users."""
    if request.get(USER) is None:
        return web.json_response({"error": "sign in first"}, status=401)
    rows = await request.app[STORE].run(list_incidents)
    return web.json_response([
        {"id": i.id, "status": i.status.value, "title": i.title, "level": i.level,
         "proposed_level": i.proposed_level, "heat": i.heat, "items": i.items,
         "sources": i.sources, "topics": list(i.topics), "region": i.region,
         "opened_at": i.opened_at.isoformat(), "updated_at": i.updated_at.isoformat(),
         "parent_id": i.parent_id, "merged_into": i.merged_into}
        for i in reversed(rows)], dumps=lambda v: json.dumps(v, ensure_ascii=False))
