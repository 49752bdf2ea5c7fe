"""Sign-in, sessions, CSRF, roles and the sign-in limit, through the service's own app."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from monitor.app import build_app
from monitor.clock import SimClock
from monitor.config import load_settings
from monitor.store import Store
from monitor.store.incidents import timeline_of
from monitor.store.users import add_user
from monitor.web.auth import hash_password
from tests.notify.test_ack_web import NOW, seed

Client = Callable[..., Awaitable[TestClient]]
PASSWORD = "correct horse battery"


@pytest.fixture
async def signed(tmp_path: Path, aiohttp_client: Client) -> tuple[TestClient, SimClock, str]:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    seed(url)  # incident 7
    store = Store(url)
    hashed = hash_password(PASSWORD)
    for name, role, shown in (("zhang", "duty_officer", "值班员张"), ("wang", "leader", "王局")):
        store.transaction(lambda c, n=name, r=role, d=shown: add_user(c, n, d, r, hashed, NOW))
    store.close()
    clock = SimClock(NOW)
    app = build_app(load_settings(database=url), clock=clock, poll=False, send_alerts=False)
    return await aiohttp_client(app), clock, url


async def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> int:
    page = await client.get("/login")
    csrf = re.search(r"name=csrf value='([^']+)'", await page.text())
    assert csrf is not None
    reply = await client.post("/login", data={"csrf": csrf.group(1), "name": name,
                                              "password": password}, allow_redirects=False)
    return reply.status


async def csrf_of(client: TestClient) -> str:
    me = await client.get("/api/me")
    assert me.status == 200
    return str((await me.json())["csrf"])


async def test_signing_in_acting_with_csrf_and_the_actor_on_the_timeline(
        signed: tuple[TestClient, SimClock, str]) -> None:
    client, _, url = signed
    assert (await client.get("/api/me")).status == 401
    assert await sign_in(client, "zhang") == 303
    me = await (await client.get("/api/me")).json()
    assert (me["name"], me["role"]) == ("zhang", "duty_officer")
    ack = {"action": "ack"}
    assert (await client.post("/api/incidents/7/actions", json=ack)).status == 403  # no token
    wrong = await client.post("/api/incidents/7/actions", json=ack,
                              headers={"X-CSRF-Token": "forged"})
    assert wrong.status == 403
    done = await client.post("/api/incidents/7/actions", json=ack,
                             headers={"X-CSRF-Token": await csrf_of(client)})
    assert done.status == 200
    store = Store(url)
    try:
        acks = [e for e in store.transaction(lambda c: timeline_of(c, 7))
                if e.type == "acknowledged"]
    finally:
        store.close()
    assert [e.actor for e in acks] == ["值班员张"]


async def test_a_leader_cannot_act_where_only_a_duty_officer_may(
        signed: tuple[TestClient, SimClock, str]) -> None:
    client, _, _ = signed
    assert await sign_in(client, "wang") == 303
    refused = await client.post("/api/incidents/7/actions", json={"action": "ack"},
                                headers={"X-CSRF-Token": await csrf_of(client)})
    assert refused.status == 403
    assert "值班员" in (await refused.json())["message"]


async def test_sessions_expire_and_a_login_form_without_its_token_is_refused(
        signed: tuple[TestClient, SimClock, str]) -> None:
    client, clock, _ = signed
    forged = await client.post("/login", data={"csrf": "x", "name": "zhang",
                                               "password": PASSWORD}, allow_redirects=False)
    assert forged.status == 403
    assert await sign_in(client, "zhang") == 303
    assert (await client.get("/api/me")).status == 200
    clock.advance(8 * 3600)
    assert (await client.get("/api/me")).status == 401


async def test_sign_in_failures_are_limited(signed: tuple[TestClient, SimClock, str]) -> None:
    client, clock, _ = signed
    for _ in range(5):
        assert await sign_in(client, "zhang", "wrong password!") == 401
    assert await sign_in(client, "zhang") == 429  # even the right password, for a while
    clock.advance(15 * 60)
    assert await sign_in(client, "zhang") == 303
