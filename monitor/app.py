"""The service: collectors in the background and a web server (a health endpoint for now)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from monitor.clock import Clock, WallClock
from monitor.collect.fetch import Fetcher
from monitor.collect.poller import Poller, parser_pool
from monitor.config import Settings, SourceList, load_sources
from monitor.records import FetchStatus
from monitor.store import Store
from monitor.store.sources import all_health

log = logging.getLogger(__name__)

STORE = web.AppKey("store", Store)
SOURCES = web.AppKey("sources", SourceList)


def build_app(settings: Settings, clock: Clock | None = None,
              poll: bool = True) -> web.Application:
    """Everything the service runs, owned by the app's cleanup context so that Ctrl-C or
    SIGTERM stops the pollers, lets the store finish its transaction and closes the session."""
    sources = load_sources(settings.sources_path)  # a bad file fails before anything starts
    app = web.Application()
    app[SOURCES] = sources
    app.router.add_get("/healthz", healthz)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        store = Store(settings.database_url)
        app[STORE] = store
        fetcher = Fetcher(settings.fetch, sources.trusted_hosts)
        pool = parser_pool()
        poller = Poller(store, fetcher, clock or WallClock(), parse_executor=pool)
        task = asyncio.create_task(poller.run(sources.sources), name="pollers") if poll else None
        enabled = sum(s.enabled for s in sources.sources)
        log.info("started: %d sources (%d enabled) from %s, database %s", len(sources.sources),
                 enabled, settings.sources_path, _safe_url(settings.database_url))
        yield
        log.info("stopping: waiting for running fetches to finish their writes")
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await fetcher.close()
        pool.shutdown()
        store.close()
        log.info("stopped cleanly")

    app.cleanup_ctx.append(lifecycle)
    return app


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


async def healthz(request: web.Request) -> web.Response:
    """200 while the store answers; lists sources that are failing or gone."""
    app = request.app
    try:
        health = await app[STORE].run(all_health)
    except Exception as exc:  # noqa: BLE001  (any store failure means unhealthy; say why)
        return web.json_response({"status": "error", "error": str(exc)}, status=503)
    failing = [
        {"source": h.source, "status": h.status.value if h.status else None,
         "consecutive_failures": h.consecutive_failures, "last_error": h.last_error}
        for h in health.values() if h.status in (FetchStatus.ERROR, FetchStatus.GONE)]
    enabled = [s for s in app[SOURCES].sources if s.enabled]
    return web.json_response({"status": "ok", "sources": len(enabled),
                              "polled": sum(s.name in health for s in enabled),
                              "failing": failing})



