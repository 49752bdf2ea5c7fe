"""The acknowledgement link's two pages: GET shows what is being acknowledged and a button
(link previewers in chat apps fetch links, and a fetch must not acknowledge anything); POST
records the acknowledgement, once, with who and through which channel."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from aiohttp import web

from monitor.clock import Clock
from monitor.incidents.engine import ActionError
from monitor.incidents.stage import IncidentStage
from monitor.notify.acklink import AckClaim, AckLinkError, sign, verify
from monitor.response.roster import Roster
from monitor.store import Store
from monitor.store.incidents import timeline_of
from monitor.web.auth import bare_page
from monitor.web.templates import render

ACK_SECRET_ENV = "MONITOR_ACK_SECRET"  # noqa: S105  (the variable's name, not a secret)
LINK_LIFETIME = timedelta(hours=24)


def ack_secret() -> bytes | None:
    value = os.environ.get(ACK_SECRET_ENV)
    return value.encode() if value else None


def ack_url(public_url: str, secret: bytes | None, clock: Clock, row: dict[str, Any],
            channel: str) -> str | None:
    if secret is None or row.get("kind") == "delivery_fault":
        return None
    claim = AckClaim(int(row["outbox_id"]), int(row["incident_id"]), str(row["person"]),
                     channel, clock.now() + LINK_LIFETIME)
    return f"{public_url.rstrip('/')}/ack/{sign(secret, claim)}"


def ack_routes(store: Store, incidents: IncidentStage, roster: Roster, clock: Clock,
               secret: bytes | None) -> list[web.RouteDef]:
    async def claim_of(request: web.Request) -> AckClaim | web.Response:
        if secret is None:
            return bare_page("确认链接未启用", "服务未设置确认链接密钥。", status=404)
        try:
            return verify(secret, request.match_info["token"], clock.now())
        except AckLinkError as exc:
            return bare_page("链接无效或已过期", str(exc), status=403)

    async def used(claim: AckClaim) -> bool:
        events = await store.run(lambda c: timeline_of(c, claim.incident_id))
        return any(e.type == "acknowledged" and e.data.get("token") == claim.token_id
                   for e in events)

    async def show(request: web.Request) -> web.Response:
        claim = await claim_of(request)
        if isinstance(claim, web.Response):
            return claim
        if await used(claim):
            return bare_page("已确认", "这条提醒已经确认过了。")
        person = roster.person(claim.person)
        return bare_page(f"确认收到事件 #{claim.incident_id} 的提醒", body=render(
            "ack.html", person=person.name if person else claim.person))

    async def record(request: web.Request) -> web.Response:
        claim = await claim_of(request)
        if isinstance(claim, web.Response):
            return claim
        if await used(claim):
            return bare_page("已确认", "这条提醒已经确认过了。", status=409)
        person = roster.person(claim.person)
        try:
            await incidents.act_on(claim.incident_id, "ack",
                                   person.name if person else claim.person, clock.now(),
                                   via=claim.channel, token=claim.token_id)
        except ActionError as exc:
            return bare_page("无法确认", str(exc), status=409)
        return bare_page("已确认收到", f"事件 #{claim.incident_id} 已记录确认。")

    return [web.get("/ack/{token}", show), web.post("/ack/{token}", record)]
