"""`monitor demo` runs the real service on the bundled scenario and shows incidents live."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import aiohttp

from tests.test_cli import free_port


async def test_demo_opens_an_incident_live_and_stops_cleanly() -> None:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", "demo", "--speed", "1500", "--port", str(port),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=dict(os.environ))
    incidents: list[dict[str, object]] = []
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(600):  # up to a minute on a busy machine
                try:
                    async with session.get(f"http://127.0.0.1:{port}/api/incidents") as resp:
                        incidents = await resp.json()
                        if incidents:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = await asyncio.wait_for(proc.communicate(), 30)
        except TimeoutError:
            proc.kill()  # never leave a demo running behind the test
            await proc.wait()
            raise
    assert proc.returncode == 0, err.decode()[-2000:]
    assert incidents, err.decode()[-2000:]
    first = incidents[-1]
    assert first["status"] in ("open", "confirmed", "responding")
    assert "work_safety" in first["topics"]  # the site collapse comes first in the scenario
    assert "incident #1 opened" in err.decode()
