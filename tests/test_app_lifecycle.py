"""The service's lifecycle: whatever it opened is closed, even when it is stopped while it is
still starting (a SIGTERM from a restart arrives during the incident stage's restore)."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from monitor.app import STORE, build_app
from monitor.clock import SimClock
from monitor.config import load_settings
from monitor.demo.build import START


def open_sessions() -> set[int]:
    return {id(o) for o in gc.get_objects()
            if isinstance(o, aiohttp.ClientSession) and not o.closed}


async def test_a_service_stopped_while_starting_closes_what_it_opened(tmp_path: Path) -> None:
    before = open_sessions()
    app = build_app(load_settings(database=f"sqlite:///{tmp_path / 'm.db'}"),
                    clock=SimClock(START), poll=False, send_alerts=False)
    runner = web.AppRunner(app, handle_signals=False)
    starting = asyncio.create_task(runner.setup())
    # the store is open and the incident stage restores its state from it: stop it there
    for _ in range(1000):
        if STORE in app:
            break
        await asyncio.sleep(0)
    assert STORE in app
    starting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await starting
    # the store takes no more work, and the alerts' HTTP session is closed
    with pytest.raises(RuntimeError, match="shutdown"):
        await app[STORE].run(lambda conn: None)
    assert open_sessions() <= before
