"""Shared fixtures: a real local feed host, a real SQLite store, a fetch setup for tests."""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiosmtpd.controller import Controller

from monitor.clock import SimClock
from monitor.collect.fetch import Fetcher
from monitor.collect.poller import Poller, PollReport
from monitor.config import FetchSettings
from monitor.records import Media, Source, SourceKind
from monitor.store import Store

FEEDS = Path(__file__).parent / "data" / "feeds"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class FeedHost:
    """A local HTTP server whose answers each test sets: path → (status, body, headers) or a
    handler. It counts requests per path and keeps the last request's headers."""

    server: TestServer
    routes: dict[str, tuple[int, bytes, dict[str, str]] | Handler] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    last_headers: dict[str, dict[str, str]] = field(default_factory=dict)

    def url(self, path: str, host: str = "localhost") -> str:
        return f"http://{host}:{self.server.port}{path}"

    def serve_file(self, path: str, name: str, content_type: str = "application/rss+xml",
                   **headers: str) -> str:
        self.routes[path] = (200, (FEEDS / name).read_bytes(),
                             {"Content-Type": content_type, **headers})
        return self.url(path)


@pytest.fixture
async def feed_host(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> FeedHost:
    host: FeedHost

    async def serve(request: web.Request) -> web.StreamResponse:
        host.hits[request.path] = host.hits.get(request.path, 0) + 1
        host.last_headers[request.path] = dict(request.headers)
        route = host.routes.get(request.path)
        if route is None:
            return web.Response(status=404, text="no such feed")
        if callable(route):
            return await route(request)
        status, body, headers = route
        return web.Response(status=status, body=body, headers=headers)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", serve)
    host = FeedHost(await aiohttp_server(app, host="127.0.0.1"))
    return host


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'monitor.db'}")
    yield s
    s.close()


@pytest.fixture
def clock() -> SimClock:
    return SimClock(datetime(2026, 3, 6, 9, 0, tzinfo=UTC))


@pytest.fixture
def fetch_settings() -> FetchSettings:
    # Short timeouts keep the slow-server tests quick; the feed host is reached as "localhost".
    return FetchSettings(timeout=2, connect_timeout=2, host_gap=0, per_host=4,
                         allow_private=["localhost"])


@pytest.fixture
async def fetcher(fetch_settings: FetchSettings) -> AsyncIterator[Fetcher]:
    f = Fetcher(fetch_settings)
    yield f
    await f.close()


def make_source(name: str, url: str, kind: SourceKind = SourceKind.RSS,
                interval_s: int = 900) -> Source:
    return Source(name=name, url=url, kind=kind, media=Media.LOCAL, region="临沧",
                  interval_s=interval_s)


@pytest.fixture
def poll(store: Store, fetcher: Fetcher, clock: SimClock
         ) -> Callable[..., Awaitable[dict[str, PollReport]]]:
    """Poll the given sources once together, as `monitor fetch --once` does."""
    poller = Poller(store, fetcher, clock)

    async def run(*sources: Source) -> dict[str, PollReport]:
        return {r.source: r for r in await poller.poll_once(list(sources))}

    return run


@pytest.fixture
def smtp() -> Iterator[tuple[int, list[EmailMessage]]]:
    """A real SMTP server on loopback; the mails it accepted."""
    got: list[EmailMessage] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            got.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
            return "250 OK"

    with socket.socket() as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port, got
    controller.stop()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        pytest.skip("PostgreSQL is not installed here (.ci/run installs Debian's postgresql)")
    binaries = found[-1].parent
    root = Path(tempfile.mkdtemp(prefix="pg"))  # short: the socket's path has a length limit
    # the server refuses to run as root
    as_user = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(root, "nobody")
    data = root / "data"
    subprocess.run([*as_user, binaries / "initdb", "-D", data, "-U", "postgres", "-A", "trust",
                    "-E", "UTF8"], check=True, capture_output=True)
    subprocess.run([*as_user, binaries / "pg_ctl", "-D", data, "-l", root / "log", "-w", "-o",
                    f"-k {root} -c listen_addresses=''", "start"], check=True,
                   capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@/postgres?host={root}"
    finally:
        # check=False: a server that has already stopped needs no stopping
        subprocess.run([*as_user, binaries / "pg_ctl", "-D", data, "-m", "immediate", "stop"],
                       check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


_databases = itertools.count(1)


@pytest.fixture
def postgres_db(postgres_url: str) -> str:
    """A database of its own on the tests' PostgreSQL server."""
    import psycopg

    name = f"t{os.getpid()}_{next(_databases)}"
    host = postgres_url.rsplit("host=", 1)[1]
    with psycopg.connect(f"dbname=postgres user=postgres host={host}", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"postgresql+psycopg://postgres@/{name}?host={host}"
