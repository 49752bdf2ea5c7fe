"""A sender killed by SIGKILL right after a robot took a message, before it could record
that: after restart every alert arrives, the one that may have gone out twice is marked as a
resend (重发), and nothing else is sent twice."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from monitor.store import Store
from monitor.store.schema import outbox
from tests.notify.fakes import Fake, wecom_app
from tests.notify.test_sender import queue
from tests.test_cli import monitor


@pytest.fixture
def outbox_db(tmp_path: Path, store: Store) -> Path:
    queue(store, 10)
    store.close()
    db = tmp_path / "alerts.db"
    shutil.copy(tmp_path / "m.db", db)
    return db


async def test_killed_after_a_send_resends_only_that_one_marked(
        tmp_path: Path, outbox_db: Path,
        aiohttp_server: Callable[..., Awaitable[TestServer]]) -> None:
    fake = Fake()
    server = await aiohttp_server(wecom_app(fake, key="k-1"))
    (tmp_path / "channels.yaml").write_text(f"""\
channels:
  - name: duty-wecom
    type: wecom
    key_env: T_WECOM_KEY
    timeout: 1
    base_url: {str(server.make_url("")).rstrip("/")}
""", encoding="utf-8")
    (tmp_path / "routing.yaml").write_text(
        "rules:\n  - {name: all, channels: [duty-wecom]}\n", encoding="utf-8")
    config = tmp_path / "monitor.yaml"
    # no daily report: the shipped one is mailed, and this file has no e-mail channel
    (tmp_path / "reports.yaml").write_text("enabled: false\n", encoding="utf-8")
    config.write_text("channels: channels.yaml\nrouting: routing.yaml\nreports: reports.yaml\n",
                      encoding="utf-8")
    args = ("alerts", "send", "--config", str(config), "--db", f"sqlite:///{outbox_db}")
    env = {"T_WECOM_KEY": "k-1"}
    code, _, _ = await monitor(*args, env={**env, "MONITOR_FAILPOINTS": "notify.after_send=4"})
    assert code == -9
    assert len(fake.received) == 4
    await asyncio.sleep(6.5)  # the lease: the channel's timeout and five seconds
    code, _, err = await monitor(*args, env=env)
    assert code == 0, err
    contents = [m["markdown"]["content"] for m in fake.received]
    assert len(contents) == 11
    for n in range(10):
        copies = [c for c in contents if f"事件{n:03d}" in c]
        assert len(copies) == (2 if n == 3 else 1), (n, copies)
    assert "【重发】" in next(c for c in contents[4:] if "事件003" in c)
    assert sum("【重发】" in c for c in contents) == 1
    store = Store(f"sqlite:///{outbox_db}")
    try:
        assert set(store.transaction(lambda c: c.execute(
            select(outbox.c.status)).scalars().all())) == {"sent"}
    finally:
        store.close()
