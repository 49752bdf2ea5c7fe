"""`monitor alerts test` as an operator runs it, against a local fake DingTalk robot."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp.test_utils import TestServer

from tests.notify.fakes import Fake, dingtalk_app
from tests.test_cli import monitor


async def test_a_test_message_reaches_the_robot_and_a_wrong_secret_is_named(
        tmp_path: Path, aiohttp_server: Callable[..., Awaitable[TestServer]]) -> None:
    fake = Fake()
    server = await aiohttp_server(dingtalk_app(fake, token="t-1", secret="SEC", keyword="舆情"))
    (tmp_path / "channels.yaml").write_text(f"""\
channels:
  - name: duty-dingtalk
    type: dingtalk
    token_env: T_DT_TOKEN
    secret_env: T_DT_SECRET
    keyword: 舆情
    base_url: {str(server.make_url("")).rstrip("/")}
""", encoding="utf-8")
    config = tmp_path / "monitor.yaml"
    config.write_text("channels: channels.yaml\n", encoding="utf-8")
    args = ("alerts", "test", "duty-dingtalk", "--to", "duty-a", "--config", str(config))
    code, out, err = await monitor(*args, env={"T_DT_TOKEN": "t-1", "T_DT_SECRET": "SEC"})
    assert code == 0, err
    assert "delivered" in out
    assert '"errcode":0' in out.replace(" ", "")
    assert "通道测试" in fake.received[0]["markdown"]["title"]
    assert fake.received[0]["at"]["atMobiles"] == ["13800000001"]
    code, out, _ = await monitor(*args, env={"T_DT_TOKEN": "t-1", "T_DT_SECRET": "WRONG"})
    assert code == 1
    assert "configuration fault" in out
    assert "310000" in out
