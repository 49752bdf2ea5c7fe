"""Local stand-ins for the three group robots that keep the platforms' real rules: signatures
and clock skew, keyword rules, rate limits (DingTalk's ten-minute lock-out too), byte limits,
and their error codes inside HTTP 200. Faults can be queued: a timeout, a reset connection,
a 5xx or a slow reply."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

SKEW_S = 3600  # both DingTalk and Feishu accept timestamps within an hour


@dataclass
class Fake:
    """What a fake robot received and how it behaves."""

    now: Callable[[], float] = time.time
    received: list[dict[str, Any]] = field(default_factory=list)  # accepted bodies
    replies: list[dict[str, Any]] = field(default_factory=list)  # every reply sent
    faults: deque[str] = field(default_factory=deque)  # "timeout", "reset", "500", "slow"
    times: deque[float] = field(default_factory=deque)  # accepted sends, for the rate limit
    exceeded: int = 0  # sends refused for going over the limit

    async def fault(self, request: web.Request) -> web.StreamResponse | None:
        if not self.faults:
            return None
        kind = self.faults.popleft()
        if kind == "timeout":
            await asyncio.sleep(3600)
        if kind == "reset":
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        if kind == "500":
            return web.Response(status=500, text="upstream error")
        if kind == "slow":
            await asyncio.sleep(0.5)
        return None

    def over(self, per: float, limit: int) -> bool:
        """True when accepting one more within ``per`` seconds breaks ``limit``."""
        now = self.now()
        return sum(1 for t in self.times if t > now - per) >= limit

    def reply(self, body: dict[str, Any]) -> web.Response:
        self.replies.append(body)
        return web.json_response(body)


def _wecom(fake: Fake, key: str) -> web.Application:
    async def send(request: web.Request) -> web.StreamResponse:
        faulted = await fake.fault(request)
        if faulted is not None:
            return faulted
        if request.query.get("key") != key:
            return fake.reply({"errcode": 93000, "errmsg": "invalid webhook url"})
        body = await request.json()
        if body.get("msgtype") != "markdown":
            return fake.reply({"errcode": 40008, "errmsg": "invalid message type"})
        if len(body["markdown"]["content"].encode()) > 4096:
            return fake.reply({"errcode": 40058, "errmsg": "markdown.content exceed max length"})
        if fake.over(60, 20):
            fake.exceeded += 1
            return fake.reply({"errcode": 45009, "errmsg": "api freq out of limit"})
        fake.times.append(fake.now())
        fake.received.append(body)
        return fake.reply({"errcode": 0, "errmsg": "ok"})

    app = web.Application()
    app.router.add_post("/cgi-bin/webhook/send", send)
    return app


def _dingtalk(fake: Fake, token: str, secret: str | None, keyword: str | None,
              locked: dict[str, float]) -> web.Application:
    async def send(request: web.Request) -> web.StreamResponse:
        faulted = await fake.fault(request)
        if faulted is not None:
            return faulted
        if request.query.get("access_token") != token:
            return fake.reply({"errcode": 300001, "errmsg": "token is not exist"})
        raw = await request.read()
        if len(raw) > 20_000:
            return fake.reply({"errcode": 460101, "errmsg": "message too long"})
        if secret is not None:
            ts = request.query.get("timestamp", "")
            expected = base64.b64encode(hmac.new(
                secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()).decode()
            if not ts.isdigit() or abs(int(ts) / 1000 - fake.now()) > SKEW_S:
                return fake.reply({"errcode": 310000, "errmsg": "invalid timestamp"})
            # the query is URL-decoded by the framework, as DingTalk does
            if request.query.get("sign") != expected:
                return fake.reply({"errcode": 310000, "errmsg": "sign not match"})
        body = json.loads(raw)
        if keyword is not None and keyword not in json.dumps(body, ensure_ascii=False):
            return fake.reply({"errcode": 310000, "errmsg": "keywords not in content"})
        if fake.now() < locked.get("until", 0):
            fake.exceeded += 1
            return fake.reply({"errcode": 130101, "errmsg": "send too fast, exceed 20 times "
                                                             "per minute"})
        if fake.over(60, 20):
            fake.exceeded += 1
            locked["until"] = fake.now() + 600  # throttled for ten minutes
            return fake.reply({"errcode": 130101, "errmsg": "send too fast, exceed 20 times "
                                                             "per minute"})
        fake.times.append(fake.now())
        fake.received.append(body)
        return fake.reply({"errcode": 0, "errmsg": "ok"})

    app = web.Application()
    app.router.add_post("/robot/send", send)
    return app


def _feishu(fake: Fake, token: str, secret: str | None) -> web.Application:
    async def send(request: web.Request) -> web.StreamResponse:
        faulted = await fake.fault(request)
        if faulted is not None:
            return faulted
        if request.match_info["token"] != token:
            return fake.reply({"code": 19001, "msg": "param invalid: incoming webhook access "
                                                     "token invalid"})
        raw = await request.read()
        if len(raw) > 20 * 1024:
            return fake.reply({"code": 9499, "msg": "Bad Request"})
        body = json.loads(raw)
        if secret is not None:
            ts = str(body.get("timestamp", ""))
            key = f"{ts}\n{secret}".encode()
            expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
            if (not ts.isdigit() or abs(int(ts) - fake.now()) > SKEW_S
                    or body.get("sign") != expected):
                return fake.reply({"code": 19021, "msg": "sign match fail or timestamp is not "
                                                         "within one hour from current time"})
        if fake.over(1, 5) or fake.over(60, 100):
            fake.exceeded += 1
            return fake.reply({"code": 11232, "msg": "frequency limited psm"})
        fake.times.append(fake.now())
        fake.received.append(body)
        return fake.reply({"code": 0, "msg": "success", "data": {}})

    app = web.Application()
    app.router.add_post("/open-apis/bot/v2/hook/{token}", send)
    return app


def wecom_app(fake: Fake, key: str) -> web.Application:
    return _wecom(fake, key)


def dingtalk_app(fake: Fake, token: str, secret: str | None = None,
                 keyword: str | None = None) -> web.Application:
    return _dingtalk(fake, token, secret, keyword, {})


def feishu_app(fake: Fake, token: str, secret: str | None = None) -> web.Application:
    return _feishu(fake, token, secret)

