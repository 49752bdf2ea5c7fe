"""Three `monitor run` on one PostgreSQL database, against ten feeds on a loopback host, as
the machines of one duty office would run them: one leads the pipeline, the others serve the
dashboard and stand by; the leader is killed, one standby takes over, and every item is
stored exactly once. And a stop by SIGTERM to the whole process group, as systemd sends it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from monitor.store import Store
from monitor.store.schema import items
from tests.service import Service, free_port, service

Serve = Callable[..., Awaitable[TestServer]]
FEEDS = 10


class Publisher:
    """Ten feeds whose entries are published as the test says."""

    def __init__(self) -> None:
        self.published = 3

    def feed(self, n: int) -> bytes:
        entries = "".join(f"<item><title>第{n}号来源 第{k}条 今日天气与交通提示</title>"
                          f"<link>https://f{n}.example.cn/{k}</link><guid>f{n}-{k}</guid></item>"
                          for k in range(self.published))
        return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                f"<title>f{n}</title>{entries}</channel></rss>").encode()


async def feeds(aiohttp_server: Serve, publisher: Publisher) -> TestServer:
    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=publisher.feed(int(request.match_info["n"])),
                            content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/f/{n}.xml", serve)
    return await aiohttp_server(app, host="127.0.0.1")


def configure(tmp_path: Path, server: TestServer, db: str) -> Path:
    (tmp_path / "sources.yaml").write_text("sources:\n" + "".join(
        f"  - {{name: f{n}, url: 'http://127.0.0.1:{server.port}/f/{n}.xml', interval: 60}}\n"
        for n in range(FEEDS)), encoding="utf-8")
    (tmp_path / "reports.yaml").write_text("enabled: false\n", encoding="utf-8")
    config = tmp_path / "monitor.yaml"
    config.write_text(f"database: {db}\nsources: sources.yaml\nreports: reports.yaml\n"
                      "fetch: {host_gap: 0, per_host: 10, max_interval: 60, allow_private: [127.0.0.1]}\n"
                      "pipeline: {lease: 4s}\n", encoding="utf-8")
    return config


async def health(port: int) -> dict[str, Any] | None:
    try:
        async with aiohttp.ClientSession() as session, \
                session.get(f"http://127.0.0.1:{port}/healthz") as resp:
            return dict(await resp.json())
    except aiohttp.ClientError:
        return None


def stored(db: str) -> tuple[int, int]:
    store = Store(db)
    try:
        return store.transaction(lambda c: (
            c.execute(select(func.count()).select_from(items)).scalar_one(),
            c.execute(select(func.count(items.c.url.distinct()))).scalar_one()))
    finally:
        store.close()


def errors(run: Service) -> list[str]:
    return [line for line in run.stderr.splitlines() if " ERROR " in line
            or "Traceback" in line]


@pytest.mark.timeout(300)
async def test_a_standby_takes_over_a_killed_leader_and_loses_no_item(
        tmp_path: Path, aiohttp_server: Serve, postgres_db: str) -> None:
    """Three processes: one leads; killed, exactly one of the two others takes over."""
    publisher = Publisher()
    server = await feeds(aiohttp_server, publisher)
    config = str(configure(tmp_path, server, postgres_db))
    ports = free_port(), free_port(), free_port()
    loop = asyncio.get_running_loop()
    async with service("run", "--config", config, "--port", str(ports[0])) as first:
        await first.wait_for(lambda: _role(ports[0], "leader"), 60, "the first process leading")
        async with service("run", "--config", config, "--port", str(ports[1])) as second, \
                service("run", "--config", config, "--port", str(ports[2])) as third:
            for run, port in ((second, ports[1]), (third, ports[2])):
                await run.wait_for(lambda p=port: _role(p, "standby"), 60, "standing by")
            await first.wait_for(lambda: _count(postgres_db, 3 * FEEDS), 60, "the first items")
            assert (await health(ports[0]) or {}).get("role") == "leader"
            for run in (first, second, third):
                assert errors(run) == []
            first.proc.kill()
            await first.proc.wait()
            killed_at = loop.time()
            await second.wait_for(lambda: _any_leads(ports[1:]), 30,
                                  "a standby leading after the kill")
            took = loop.time() - killed_at
            await asyncio.sleep(2)  # a second leader would have shown by now
            roles = [(await health(p) or {}).get("role") for p in ports[1:]]
            assert sorted(roles) == ["leader", "standby"]
            publisher.published = 5  # two more entries in every feed, after the kill
            await second.wait_for(lambda: _count(postgres_db, 5 * FEEDS), 120,
                                  "the items published after the kill")
            for run in (second, third):
                assert errors(run) == []
    assert took < 30
    total, distinct = stored(postgres_db)
    assert total == distinct == 5 * FEEDS
    assert "leading the pipeline" in second.stderr + third.stderr
    assert second.proc.returncode == third.proc.returncode == 0


async def _any_leads(ports: tuple[int, ...]) -> bool:
    return any([await _role(p, "leader") for p in ports])


async def _role(port: int, role: str) -> bool:
    found = await health(port)
    return found is not None and found.get("role") == role


async def _count(db: str, at_least: int) -> bool:
    return (await asyncio.to_thread(stored, db))[0] >= at_least


@pytest.mark.timeout(120)
async def test_sigterm_to_the_process_group_stops_everything(tmp_path: Path) -> None:
    """What systemd does: SIGTERM to the service and its parser workers at once, again and
    again; it must end, cleanly, and leave no process behind."""
    for _attempt in range(3):
        port = free_port()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "monitor", "demo", "--port", str(port), "--db",
            f"sqlite:///{tmp_path / f'd{_attempt}.db'}", stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE, start_new_session=True)
        for _ in range(300):
            if await health(port) is not None:
                break
            await asyncio.sleep(0.1)
        for _ in range(3):
            os.killpg(proc.pid, signal.SIGTERM)
            await asyncio.sleep(0.2)
        try:
            code = await asyncio.wait_for(proc.wait(), 20)
        finally:
            if proc.returncode is None:
                os.killpg(proc.pid, signal.SIGKILL)
        assert code == 0
        log = (await proc.stderr.read()).decode() if proc.stderr else ""
        assert "stopped cleanly" in log
        for _ in range(50):  # nothing of the group is left
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"processes are left in the group {proc.pid}")
