"""The acknowledgement link in the service: a GET shows a button and changes nothing, the
POST records who acknowledged through which channel, once; altered links are refused."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from monitor.app import build_app
from monitor.clock import SHANGHAI, SimClock
from monitor.config import load_settings
from monitor.incidents.engine import Changes
from monitor.notify.acklink import AckClaim, sign
from monitor.records import Incident, IncidentStatus, Item
from monitor.store import Store
from monitor.store.incidents import apply_changes, timeline_of
from monitor.store.items import insert_items

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
SECRET = "ack-secret-for-tests"


def seed(url: str) -> None:
    store = Store(url)
    item = Item(source="s", ident="u:x", guid=None, url="https://x.example/1",
                url_norm="https://x.example/1", title="t", title_norm="t", summary="",
                published_at=None, fetched_at=NOW, content_hash="0" * 64)
    stored = store.transaction(lambda c: insert_items(c, [item], NOW)).new[0]
    changes = Changes()
    changes.incidents[7] = Incident(7, IncidentStatus.OPEN, "凤庆县人民医院产妇死亡", NOW, NOW,
                                    stored.id or 0, "s")
    store.transaction(lambda c: apply_changes(c, changes))
    store.close()


async def test_an_ack_link_acknowledges_once_and_only_by_post(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        aiohttp_client: Callable[..., Awaitable[TestClient]]) -> None:
    monkeypatch.setenv("MONITOR_ACK_SECRET", SECRET)
    url = f"sqlite:///{tmp_path / 'm.db'}"
    seed(url)
    clock = SimClock(NOW)
    app = build_app(load_settings(database=url), clock=clock, poll=False, send_alerts=False)
    client = await aiohttp_client(app)
    token = sign(SECRET.encode(), AckClaim(3, 7, "duty-a", "duty-wecom",
                                           NOW + timedelta(hours=24)))
    page = await client.get(f"/ack/{token}")
    assert page.status == 200
    assert "确认收到" in await page.text()
    assert "<form method=post>" in await page.text()
    store = Store(url)
    try:
        assert [e for e in store.transaction(lambda c: timeline_of(c, 7))
                if e.type == "acknowledged"] == []
        done = await client.post(f"/ack/{token}")
        assert done.status == 200
        acks = [e for e in store.transaction(lambda c: timeline_of(c, 7))
                if e.type == "acknowledged"]
        assert [(e.actor, e.data) for e in acks] == [
            ("值班员甲", {"via": "duty-wecom", "token": "3:duty-wecom"})]
        again = await client.post(f"/ack/{token}")
        assert again.status == 409
        forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
        assert (await client.post(f"/ack/{forged}")).status == 403
        clock.advance(24 * 3600)
        late = await client.get(f"/ack/{token}")
        assert late.status == 403
        assert "expired" in await late.text()
    finally:
        store.close()
