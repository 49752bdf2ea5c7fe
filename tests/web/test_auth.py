"""Sign-in, sessions, CSRF, roles and the sign-in limit, through the service's own app."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
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


async def behind_proxy(aiohttp_client: Client, signed: tuple[TestClient, SimClock, str],
                       public_url: str | None = None) -> TestClient:
    """The same service, told that requests come through a proxy at 127.0.0.1."""
    _, clock, url = signed
    settings = load_settings(database=url)
    web = settings.web.model_copy(update={"trusted_proxies": ["127.0.0.1/32"],
                                          "public_url": public_url})
    app = build_app(replace(settings, web=web), clock=clock, poll=False, send_alerts=False)
    return await aiohttp_client(app)


async def sign_in_from(client: TestClient, address: str, name: str,
                       password: str = PASSWORD) -> int:
    hop = {"X-Forwarded-For": address}
    page = await client.get("/login", headers=hop)
    csrf = re.search(r"name=csrf value='([^']+)'", await page.text())
    assert csrf is not None
    reply = await client.post("/login", data={"csrf": csrf.group(1), "name": name,
                                              "password": password},
                              headers=hop, allow_redirects=False)
    return reply.status


async def test_a_stranger_guessing_cannot_lock_the_duty_officer_out(
        aiohttp_client: Client, signed: tuple[TestClient, SimClock, str]) -> None:
    client = await behind_proxy(aiohttp_client, signed)
    statuses = [await sign_in_from(client, "203.0.113.9", "zhang", "wrong password!")
                for _ in range(6)]
    assert statuses == [401] * 5 + [429]  # the stranger is slowed down...
    assert await sign_in_from(client, "198.51.100.7", "zhang") == 303  # ...the officer is not


async def test_one_address_trying_many_names_is_slowed_and_a_forged_hop_is_not_believed(
        signed: tuple[TestClient, SimClock, str]) -> None:
    client, _, _ = signed
    # without a trusted proxy, X-Forwarded-For is the client's own claim: every try counts
    # against 127.0.0.1, whatever address it names
    for n in range(20):
        hop = {"X-Forwarded-For": f"192.0.2.{n}"}
        page = await client.get("/login", headers=hop)
        csrf = re.search(r"name=csrf value='([^']+)'", await page.text())
        assert csrf is not None
        reply = await client.post("/login", data={"csrf": csrf.group(1), "name": f"user{n}",
                                                  "password": "wrong password!"},
                                  headers=hop, allow_redirects=False)
        assert reply.status == 401
    assert await sign_in(client, "zhang") == 429


async def test_the_session_cookie_is_secure_behind_an_https_proxy(
        aiohttp_client: Client, signed: tuple[TestClient, SimClock, str]) -> None:
    proxied = await behind_proxy(aiohttp_client, signed)
    page = await proxied.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "secure" in page.headers["Set-Cookie"].lower()
    plain, _, _ = signed  # a client's own X-Forwarded-Proto is not believed
    page = await plain.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "secure" not in page.headers["Set-Cookie"].lower()
    public = await behind_proxy(aiohttp_client, signed, "https://yuqing.example.gov.cn")
    assert "secure" in (await public.get("/login")).headers["Set-Cookie"].lower()


@pytest.mark.parametrize("path", ["/login", "/board", "/api/incidents", "/no/such/page",
                                  "/static/countdown.js"])
async def test_every_answer_carries_the_headers_a_browser_expects(
        signed: tuple[TestClient, SimClock, str], path: str) -> None:
    client, _, _ = signed
    assert await sign_in(client, "zhang") == 303
    reply = await client.get(path, allow_redirects=False)
    headers = reply.headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "script-src 'self';" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == ("no-cache" if path.startswith("/static/") else "no-store")
    assert "aiohttp" not in headers["Server"].lower()
    assert "python" not in headers["Server"].lower()


async def test_two_processes_share_the_sign_in_limit_and_the_sessions(
        signed: tuple[TestClient, SimClock, str], aiohttp_client: Client) -> None:
    """Behind a proxy that spreads requests over two machines, failures counted by one hold
    on the other, and a session opened on one is valid on the other."""
    first, clock, url = signed
    second = await aiohttp_client(build_app(load_settings(database=url), clock=clock,
                                            poll=False, send_alerts=False))
    for client in (first, second, first, second, first):
        assert await sign_in(client, "zhang", "wrong password!") == 401
    assert await sign_in(second, "zhang") == 429
    clock.advance(15 * 60)
    assert await sign_in(first, "zhang") == 303
    token = first.session.cookie_jar.filter_cookies(first.make_url("/"))["monitor_session"]
    me = await second.get("/api/me", cookies={"monitor_session": token.value})
    assert me.status == 200
    board = await (await second.get("/board", cookies={"monitor_session": token.value})).text()
    assert "备用节点，主用节点停止后自动接管" in board
