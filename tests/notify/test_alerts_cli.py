"""`monitor alerts test` as an operator runs it, against a local fake DingTalk robot."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from monitor.store import Store
from tests.notify.conftest import queue
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
    # every command checks the whole alerting configuration: routing and reports that name
    # only this channel
    config = alerting_config(tmp_path, (tmp_path / "channels.yaml").read_text(encoding="utf-8"),
                             "rules:\n  - name: all\n    channels: [duty-dingtalk]\n")
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


def alerting_config(tmp_path: Path, channels: str, routing: str) -> Path:
    (tmp_path / "channels.yaml").write_text(channels, encoding="utf-8")
    (tmp_path / "routing.yaml").write_text(routing, encoding="utf-8")
    (tmp_path / "reports.yaml").write_text("enabled: false\n", encoding="utf-8")
    config = tmp_path / "monitor.yaml"
    config.write_text("channels: channels.yaml\nrouting: routing.yaml\nreports: reports.yaml\n",
                      encoding="utf-8")
    return config


WECOM = """\
channels:
  - name: duty-wecom
    type: wecom
    key_env: T_WECOM_KEY
"""


async def test_an_unknown_key_in_a_channel_names_its_line(tmp_path: Path) -> None:
    config = alerting_config(tmp_path, WECOM + "    keyy: x\n",
                             "rules:\n  - name: all\n    channels: [duty-wecom]\n")
    code, _, err = await monitor("alerts", "send", "--config", str(config),
                                 "--db", f"sqlite:///{tmp_path / 'm.db'}")
    assert code == 2
    assert "channels.yaml:5: channel 'duty-wecom': unknown key 'keyy'" in err
    assert "Traceback" not in err


async def test_a_routing_typo_is_refused_and_kills_no_alert(tmp_path: Path,
                                                            store: Store) -> None:
    queue(store, 2)
    config = alerting_config(tmp_path, WECOM, (
        "rules:\n  - name: all\n    channels: [duty-wecon]\n"
        "fallback: {duty-wecom: duty-wecom}\n"))
    db = f"sqlite:///{tmp_path / 'm.db'}"
    code, _, err = await monitor("alerts", "send", "--config", str(config), "--db", db)
    assert code == 2
    assert "routing.yaml:3: channel 'duty-wecon' is not in" in err
    assert "did you mean 'duty-wecom'?" in err
    statuses = store.transaction(lambda c: [r[0] for r in c.exec_driver_sql(
        "SELECT status FROM outbox").fetchall()])
    assert statuses == ["pending", "pending"]


@pytest.mark.parametrize("command", [
    ("alerts", "test", "duty-wecom"),
    ("report", "period", "--last", "day", "--db", "sqlite:///m.db")])
async def test_every_command_refuses_the_routing_typo(tmp_path: Path,
                                                      command: tuple[str, ...]) -> None:
    config = alerting_config(tmp_path, WECOM,
                             "rules:\n  - name: all\n    channels: [duty-wecon]\n")
    code, _, err = await monitor(*command, "--config", str(config))
    assert code == 2
    assert "routing.yaml:3: channel 'duty-wecon' is not in" in err
