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
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "MONITOR_DEMO_PASSWORD": "demo-password-1"})
    incidents: list[dict[str, object]] = []
    signed_in, board, reports = 0, "", ""
    base = f"http://127.0.0.1:{port}"
    try:
        # cookies of an IP-address host are kept only by an "unsafe" jar
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            for _ in range(600):  # up to a minute on a busy machine
                try:
                    if not signed_in:  # the demo's duty officer signs in and sees the board
                        page = await (await session.get(f"{base}/login")).text()
                        token = page.split("name=csrf value='")[1].split("'")[0]
                        async with session.post(f"{base}/login", data={
                                "csrf": token, "name": "demo",
                                "password": "demo-password-1"}) as resp:
                            signed_in, board = resp.status, await resp.text()
                    async with session.get(f"{base}/api/incidents") as resp:
                        incidents = await resp.json()
                        if incidents:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.1)
        # the demo's evaluator reads the first incident's evaluation
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            page = await (await session.get(f"{base}/login")).text()
            token = page.split("name=csrf value='")[1].split("'")[0]
            await session.post(f"{base}/login", data={"csrf": token, "name": "demo-eval",
                                                     "password": "demo-password-1"})
            if incidents:
                async with session.get(f"{base}/incidents/1/evaluation") as resp:
                    reports = await resp.text()
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
    assert "as 'demo'" in err.decode()
    assert "回应效果评分" in reports
    assert signed_in == 200
    assert "事件看板" in board
