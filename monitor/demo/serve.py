"""`monitor demo`: the service on the bundled scenario, live.

A local feed server publishes the scenario's items as RSS, each when the accelerated clock
reaches its time; the service polls those feeds, analyses, clusters and keeps the timeline
exactly as in production, and the scenario's actions (acknowledgements, confirmations,
releases) are applied when their time comes. At the default speed 48 hours pass in about ten
minutes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from aiohttp import web

from monitor.app import INCIDENTS, SHUTDOWN_S, build_app
from monitor.clock import AcceleratedClock
from monitor.config import Settings, SourceList
from monitor.incidents.engine import ActionError
from monitor.records import Media, Source, SourceKind
from monitor.store import Store
from monitor.store.users import add_user, user_by_name
from monitor.web.auth import hash_password

log = logging.getLogger(__name__)
SCENARIO = Path(__file__).parent / "scenario.jsonl"
FEED_PATH = "/demo-feeds/{source}.xml"


class Scenario:
    def __init__(self, path: Path = SCENARIO) -> None:
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        self.items: dict[str, list[dict[str, str]]] = defaultdict(list)
        self.actions: list[dict[str, str]] = []
        for line in lines:
            (self.items[line["source"]] if line["type"] == "item" else self.actions).append(line)
        self.start = datetime.fromisoformat(lines[0]["at"])
        self.end = datetime.fromisoformat(lines[-1]["at"])

    def feed(self, source: str, now: datetime) -> str:
        """RSS of the source's latest 100 items published by ``now``."""
        published = [i for i in self.items.get(source, ()) if datetime.fromisoformat(i["at"]) <= now]
        entries = "".join(
            f"<item><title>{escape(i['title'])}</title><link>{escape(i['url'])}</link>"
            f"<guid>{escape(i['url'])}</guid><description>{escape(i.get('text', ''))}"
            f"</description><pubDate>{format_datetime(datetime.fromisoformat(i['at']))}"
            "</pubDate></item>" for i in published[-100:][::-1])
        return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
                f"<title>{escape(source)}</title><link>https://{escape(source)}.example.cn/</link>"
                f"<description>demo</description>{entries}</channel></rss>")


def demo_app(settings: Settings, speed: float) -> web.Application:
    scenario = Scenario()
    clock = AcceleratedClock(scenario.start, speed)
    feeds = web.Application()

    async def serve(request: web.Request) -> web.Response:
        return web.Response(text=scenario.feed(request.match_info["source"], clock.now()),
                            content_type="application/rss+xml")

    feeds.router.add_get(FEED_PATH, serve)
    runner = web.AppRunner(feeds, access_log=None, shutdown_timeout=SHUTDOWN_S)
    site_port: list[int] = []

    async def feed_server(app: web.Application) -> AsyncIterator[None]:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        site_port.append(runner.addresses[0][1])
        yield
        await runner.cleanup()

    # the feed server must listen before the pollers start, so its context comes first
    shell = web.Application()
    shell.cleanup_ctx.append(feed_server)

    async def service(app: web.Application) -> AsyncIterator[None]:
        port = site_port[0]
        sources = SourceList([
            Source(name=name, url=f"http://127.0.0.1:{port}{FEED_PATH.format(source=name)}",
                   kind=SourceKind.RSS, media=_media(name), region="临沧", interval_s=60,
                   weight=2.0 if name.endswith(("-gov", "-wjw", "-daily")) else 1.0)
            for name in sorted(scenario.items)])
        # every feed polled each simulated minute: the adaptive schedule would let these
        # feeds, empty at the start, wait a day
        fetch = settings.fetch.model_copy(update={"allow_private": ["127.0.0.1"],
                                                  "host_gap": 0.0, "per_host": 8,
                                                  "max_interval": 60})
        # the demo queues alerts in the outbox; it has no robots to send them to
        inner = build_app(replace(settings, fetch=fetch), clock=clock, sources=sources,
                          send_alerts=False)
        password = _demo_user(settings.database_url)
        runner_inner = web.AppRunner(inner, access_log=None, shutdown_timeout=SHUTDOWN_S)
        await runner_inner.setup()
        await web.TCPSite(runner_inner, settings.web.host, settings.web.port).start()
        if password is not None:
            log.info("demo: sign in at http://%s:%d/login as 'demo' (a duty officer) or "
                     "'demo-eval' (an evaluator, who also sees the evaluations and reports) with "
                     "password %s", settings.web.host, settings.web.port, password)
        log.info("demo: %d items from %d sources and %d actions over %s → %s, %gx speed; "
                 "incidents at http://%s:%d/api/incidents", sum(map(len, scenario.items.values())),
                 len(scenario.items), len(scenario.actions), scenario.start, scenario.end, speed,
                 settings.web.host, settings.web.port)
        actions = asyncio.create_task(_play_actions(inner, scenario, clock))
        yield
        actions.cancel()
        await runner_inner.cleanup()

    shell.cleanup_ctx.append(service)
    return shell


async def _play_actions(app: web.Application, scenario: Scenario,
                        clock: AcceleratedClock) -> None:
    for action in scenario.actions:
        at = datetime.fromisoformat(action["at"])
        await clock.sleep((at - clock.now()).total_seconds())
        fields = {k: v for k, v in action.items()
                  if k not in ("type", "at", "action", "item_url", "by")}
        try:
            incident = await app[INCIDENTS].act(action["item_url"], action["action"],
                                                action.get("by", "demo"), clock.now(), **fields)
            log.info("demo: %s %s on incident #%d", action.get("by"), action["action"],
                     incident.id)
        except ActionError as exc:
            log.warning("demo: action %s not applied: %s", action["action"], exc)
    await clock.sleep((scenario.end - clock.now()).total_seconds())
    log.info("demo: the scenario is over; the service keeps running (Ctrl-C stops it)")


def _media(name: str) -> Media:
    if name.endswith(("-gov", "-wjw")):
        return Media.GOVERNMENT
    if name.startswith(("weibo", "douyin")):
        return Media.SOCIAL
    if name.startswith(("tieba", "zhihu", "people-liuyan")):
        return Media.FORUM
    return Media.LOCAL


DEMO_USERS = (("demo", "演示值班员", "duty_officer"), ("demo-eval", "演示考核员", "evaluator"))


def _demo_user(database_url: str) -> str | None:
    """A duty officer and an evaluator (who reads the evaluations and reports) to sign in as,
    with one password; the password, or None when the users exist already."""
    store = Store(database_url)
    try:
        if store.transaction(lambda c: user_by_name(c, "demo")) is not None:
            return None
        password = os.environ.get("MONITOR_DEMO_PASSWORD") or secrets.token_urlsafe(9)
        hashed = hash_password(password)
        store.transaction(lambda c: [add_user(c, name, shown, role, hashed, datetime.now(UTC))
                                     for name, shown, role in DEMO_USERS])
        return password
    finally:
        store.close()
