"""Each channel against a local server that keeps the platform's rules: the happy path, the
platform's error codes, signatures and clock skew, rate limits, size limits and transport
faults. Each outcome says whether a retry can help."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from email import message_from_bytes
from email.message import Message as Mail
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiosmtpd.controller import Controller

from monitor.clock import SHANGHAI, SimClock, WallClock
from monitor.errors import ConfigError
from monitor.notify.channels import (
    DingTalkRobot,
    FeishuBot,
    JsonWebhook,
    Mailer,
    Message,
    Recipient,
    SmsGateway,
    WeComRobot,
)
from monitor.notify.settings import DingTalk, Email, Feishu, Sms, Webhook, WeCom, load_channels
from tests.notify.fakes import Fake, dingtalk_app, feishu_app, wecom_app

Serve = Callable[[web.Application], Awaitable[TestServer]]
PERSON = Recipient("值班员甲", wecom="ZhiBanJia", dingtalk="zhiban", feishu="ou_1",
                   phone="13800000001", email="duty-a@wjw.example.org")
LINK = ("查看事件", "https://yuqing.wjw.example.org/incidents/7")
ACK = ("确认收到", "https://yuqing.wjw.example.org/ack/abc.def")


def message(lines: int = 3, line: str = "凤庆县人民医院产妇死亡，家属质疑延误救治") -> Message:
    return Message("舆情预警：凤庆县人民医院产妇死亡（Ⅱ级）", tuple(f"{line}{n}" for n in range(lines)),
                   (LINK, ACK), PERSON)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
def serve(aiohttp_server: Callable[..., Awaitable[TestServer]]) -> Serve:
    async def start(app: web.Application) -> TestServer:
        return await aiohttp_server(app)
    return start


def base(server: TestServer) -> str:
    return str(server.make_url("")).rstrip("/")


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"WECOM_KEY": "k-1", "DT_TOKEN": "t-1", "DT_SECRET": "SEC-dt",
                        "FS_TOKEN": "hook-1", "FS_SECRET": "SEC-fs", "SMS_TOKEN": "s-1"}.items():
        monkeypatch.setenv(name, value)


async def test_wecom_markdown_arrives_and_its_errors_are_read(serve: Serve,
                                                              session: aiohttp.ClientSession
                                                              ) -> None:
    fake = Fake()
    server = await serve(wecom_app(fake, key="k-1"))
    robot = WeComRobot(WeCom(name="w", type="wecom", key_env="WECOM_KEY",
                             base_url=base(server)), session)
    outcome = await robot.send(message())
    assert outcome.delivered, outcome
    content = fake.received[0]["markdown"]["content"]
    assert "舆情预警" in content
    assert f"[确认收到]({ACK[1]})" in content
    assert "<@ZhiBanJia>" in content
    wrong = WeComRobot(WeCom(name="w", type="wecom", key_env="DT_TOKEN", base_url=base(server)),
                       session)
    refused = await wrong.send(message())
    assert not refused.delivered
    assert refused.fault
    assert refused.retry_after is None
    assert "93000" in refused.detail


async def test_oversized_messages_are_cut_to_the_byte_limit_keeping_the_links(
        serve: Serve, session: aiohttp.ClientSession) -> None:
    fake = Fake()
    server = await serve(wecom_app(fake, key="k-1"))
    robot = WeComRobot(WeCom(name="w", type="wecom", key_env="WECOM_KEY",
                             base_url=base(server)), session)
    big = message(lines=400)  # about 25 KB
    assert (await robot.send(big)).delivered
    content = fake.received[0]["markdown"]["content"]
    assert len(content.encode()) <= 4096
    assert "已截断" in content
    assert LINK[1] in content
    assert ACK[1] in content


async def test_wecom_rate_limit_is_retryable(serve: Serve, session: aiohttp.ClientSession
                                             ) -> None:
    fake = Fake()
    server = await serve(wecom_app(fake, key="k-1"))
    robot = WeComRobot(WeCom(name="w", type="wecom", key_env="WECOM_KEY",
                             base_url=base(server)), session)
    outcomes = [await robot.send(message(1)) for _ in range(21)]
    assert all(o.delivered for o in outcomes[:20])
    assert not outcomes[20].delivered
    assert outcomes[20].retry_after == 60
    assert not outcomes[20].fault


async def test_dingtalk_signature_keyword_and_lockout(serve: Serve,
                                                      session: aiohttp.ClientSession) -> None:
    now = [datetime.now(SHANGHAI).timestamp()]
    fake = Fake(now=lambda: now[0])
    server = await serve(dingtalk_app(fake, token="t-1", secret="SEC-dt", keyword="舆情"))
    settings = DingTalk(name="d", type="dingtalk", token_env="DT_TOKEN", secret_env="DT_SECRET",
                        keyword="舆情", base_url=base(server))
    robot = DingTalkRobot(settings, session, WallClock())
    plain = Message("凤庆县人民医院产妇死亡", ("家属质疑延误救治",), (LINK,), PERSON)
    assert (await robot.send(plain)).delivered  # the keyword is added to the title
    body = fake.received[0]
    assert body["markdown"]["title"].startswith("【舆情】")
    assert body["at"] == {"isAtAll": False, "atUserIds": ["zhiban"], "atMobiles": ["13800000001"]}
    # a wrong secret, and a clock two hours off, are configuration faults
    wrong = DingTalkRobot(settings.model_copy(update={"secret_env": "FS_SECRET"}), session,
                          WallClock())
    refused = await wrong.send(plain)
    assert refused.fault
    assert "sign not match" in refused.detail
    skewed = DingTalkRobot(settings, session,
                           SimClock(datetime.now(SHANGHAI) - timedelta(hours=2)))
    late = await skewed.send(plain)
    assert late.fault
    assert "timestamp" in late.detail
    # over 20 a minute: refused, then locked out for ten minutes even after the minute
    for _ in range(19):
        assert (await robot.send(plain)).delivered
    over = await robot.send(plain)
    assert over.retry_after == 600
    assert not over.fault
    now[0] += 120
    assert (await robot.send(plain)).retry_after == 600
    now[0] += 600
    assert (await robot.send(plain)).delivered


async def test_feishu_signature_and_limits(serve: Serve, session: aiohttp.ClientSession
                                           ) -> None:
    fake = Fake()
    server = await serve(feishu_app(fake, token="hook-1", secret="SEC-fs"))
    settings = Feishu(name="f", type="feishu", token_env="FS_TOKEN", secret_env="FS_SECRET",
                      base_url=base(server))
    bot = FeishuBot(settings, session, WallClock())
    outcomes = [await bot.send(message(2)) for _ in range(6)]
    assert [o.delivered for o in outcomes] == [True] * 5 + [False]
    assert outcomes[5].retry_after == 60
    post = fake.received[0]["content"]["post"]["zh_cn"]
    flat = json.dumps(post, ensure_ascii=False)
    assert post["title"].startswith("舆情预警")
    assert ACK[1] in flat
    assert '"ou_1"' in flat
    wrong = FeishuBot(settings.model_copy(update={"secret_env": "DT_SECRET"}), session,
                      WallClock())
    refused = await wrong.send(message(1))
    assert refused.fault
    assert "19021" in refused.detail


@pytest.mark.parametrize("fault", ["500", "reset", "timeout", "slow"])
async def test_transport_faults_are_retryable(fault: str, serve: Serve,
                                              session: aiohttp.ClientSession) -> None:
    fake = Fake()
    fake.faults.append(fault)
    server = await serve(wecom_app(fake, key="k-1"))
    robot = WeComRobot(WeCom(name="w", type="wecom", key_env="WECOM_KEY",
                             base_url=base(server), timeout=1), session)
    outcome = await robot.send(message())
    if fault == "slow":  # half a second is within the timeout
        assert outcome.delivered
        return
    assert not outcome.delivered
    assert not outcome.fault
    assert outcome.retry_after
    assert (await robot.send(message())).delivered  # the fault has passed


async def test_email_arrives_with_text_and_html_parts() -> None:
    got: list[Mail] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            got.append(message_from_bytes(envelope.content))
            return "250 OK"

    with socket.socket() as probe:  # a free port for the SMTP server
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        mailer = Mailer(Email(name="m", type="email", host="127.0.0.1", port=port,
                              security="none", sender="yuqing@wjw.example.org"))
        outcome = await mailer.send(message())
    finally:
        controller.stop()
    assert outcome.delivered, outcome
    mail = got[0]
    assert mail["To"] == "duty-a@wjw.example.org"
    parts = {p.get_content_type(): p.get_payload(decode=True).decode() for p in mail.walk()
             if not p.is_multipart()}
    assert "凤庆县人民医院" in parts["text/plain"]
    assert f'href="{ACK[1]}"' in parts["text/html"]
    nobody = await mailer.send(Message("t", ("x",), (), Recipient("无邮箱")))
    assert nobody.fault
    assert "no e-mail" in nobody.detail


async def test_sms_gateway_and_webhook(serve: Serve, session: aiohttp.ClientSession) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    async def gateway(request: web.Request) -> web.Response:
        seen.append((request.headers.get("Authorization", ""), await request.json()))
        return web.json_response({"result": "ok"})

    app = web.Application()
    app.router.add_post("/send", gateway)
    app.router.add_post("/hook", gateway)
    server = await serve(app)
    sms = SmsGateway(Sms(name="s", type="sms", url=f"{base(server)}/send", token_env="SMS_TOKEN",
                         body='{"mobile": "{phone}", "content": "{text}", "sign": "卫健委"}'),
                     session)
    assert (await sms.send(message(lines=40))).delivered
    auth, body = seen[0]
    assert auth == "Bearer s-1"
    assert body["mobile"] == "13800000001"
    assert body["sign"] == "卫健委"
    assert len(body["content"]) <= 300
    assert body["content"].endswith(LINK[1])
    hook = JsonWebhook(Webhook(name="h", type="webhook", url=f"{base(server)}/hook"), session)
    assert (await hook.send(message())).delivered
    assert seen[1][1]["links"][1]["url"] == ACK[1]


@pytest.mark.parametrize("url", ["htp://robot.example.org", "robot.example.org/send",
                                 "ftp://robot.example.org", "https://robot example.org/send"])
def test_a_channel_address_that_cannot_be_reached_names_its_line(tmp_path: Path,
                                                                 url: str) -> None:
    path = tmp_path / "channels.yaml"
    path.write_text(f"channels:\n  - name: gateway\n    type: webhook\n    url: {url}\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError, match=r"channels.yaml:4: channel 'gateway': url: .*http:// "
                                          r"or https:// address"):
        load_channels(path)
