"""`monitor demo` runs the real service on the bundled scenario and shows incidents live."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.service import free_port, service


async def sign_in(session: aiohttp.ClientSession, base: str, name: str) -> tuple[int, str]:
    page = await (await session.get(f"{base}/login")).text()
    token = page.split("name=csrf value='")[1].split("'")[0]
    async with session.post(f"{base}/login", data={"csrf": token, "name": name,
                                                   "password": "demo-password-1"}) as resp:
        return resp.status, await resp.text()


@pytest.mark.timeout(300)  # a loaded machine has taken over a minute to reach the first incident
async def test_demo_opens_an_incident_live_and_stops_cleanly() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    incidents: list[dict[str, Any]] = []
    async with service("demo", "--speed", "1500", "--port", str(port),
                       env={"MONITOR_DEMO_PASSWORD": "demo-password-1"}) as demo:
        # cookies of an IP-address host are kept only by an "unsafe" jar
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as officer:
            async def listening() -> bool:
                try:
                    async with officer.get(f"{base}/healthz") as resp:
                        return resp.status == 200
                except aiohttp.ClientConnectionError:
                    return False

            async def board_shows_an_incident() -> bool:
                nonlocal incidents
                async with officer.get(f"{base}/api/incidents") as resp:
                    incidents = await resp.json()
                # at this speed the duty officer's acknowledgement may come before detection
                # has read the post, opening the incident from it by hand; its topics follow
                # once the post is read
                return bool(incidents) and bool(incidents[-1]["topics"])

            await demo.wait_for(listening, 60, "answer on the service's port")
            # the demo's duty officer signs in and sees the board
            signed_in, board = await sign_in(officer, base, "demo")
            await demo.wait_for(board_shows_an_incident, 150, "incident on the board")
        # the demo's evaluator reads the first incident's evaluation
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as evaluator:
            await sign_in(evaluator, base, "demo-eval")
            async with evaluator.get(f"{base}/incidents/1/evaluation") as resp:
                evaluation = await resp.text()
    assert demo.proc.returncode == 0, demo.stderr[-2000:]
    first = incidents[-1]
    assert first["status"] in ("open", "confirmed", "responding")
    assert "work_safety" in first["topics"]  # the site collapse comes first in the scenario
    assert "incident #1 opened" in demo.stderr
    assert "as 'demo'" in demo.stderr
    assert "回应效果评分" in evaluation
    assert signed_in == 200
    assert "事件看板" in board
