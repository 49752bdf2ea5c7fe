"""A duty officer's work on incidents of the replayed demo day: a note, a merge, a split, the
board's filters and the incident's JSON."""

from __future__ import annotations

import re
import shutil
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from aiohttp.test_utils import TestClient

from monitor.app import build_app
from monitor.clock import SimClock
from monitor.config import load_settings
from tests.web.test_auth import sign_in

Client = Callable[..., Awaitable[TestClient]]


async def officer(demo_db: tuple[str, datetime], tmp_path: Path,
                  aiohttp_client: Client) -> tuple[TestClient, str]:
    url, now = demo_db
    copy = tmp_path / "m.db"
    shutil.copy(url.removeprefix("sqlite:///"), copy)
    app = build_app(load_settings(database=f"sqlite:///{copy}"), clock=SimClock(now),
                    poll=False, send_alerts=False)
    client = await aiohttp_client(app)
    assert await sign_in(client, "zhang") == 303
    page = await (await client.get("/board")).text()
    token = re.search(r"name=csrf value='([^']+)'", page)
    assert token is not None
    return client, token.group(1)


async def test_note_merge_split_filters_and_json(demo_db: tuple[str, datetime], tmp_path: Path,
                                                 aiohttp_client: Client) -> None:
    client, csrf = await officer(demo_db, tmp_path, aiohttp_client)
    board = await (await client.get("/api/board")).json()
    ids = sorted(r["id"] for r in board)
    assert len(ids) >= 2
    levels = {r["id"]: r["level"] or r["proposed_level"] for r in board}
    # the heat trend: the demo day's last twelve hours brought items to its incidents
    assert sum(r["items_last_6h"] + r["items_6h_before"] for r in board) > 0
    assert re.search(r"[↑↓→]\d+", await (await client.get("/board")).text())
    only = await (await client.get("/api/board", params={"level": levels[ids[0]]})).json()
    assert {r["id"] for r in only} == {i for i in ids if levels[i] == levels[ids[0]]}

    noted = await client.post(f"/incidents/{ids[0]}/act", data={
        "csrf": csrf, "action": "note", "text": "已联系县卫健局核实<b>情况</b>"},
        allow_redirects=False)
    assert noted.status == 303
    page = await (await client.get(f"/incidents/{ids[0]}")).text()
    assert "已联系县卫健局核实&lt;b&gt;情况&lt;/b&gt;" in page

    merged = await client.post(f"/incidents/{ids[1]}/merge", data={"csrf": csrf,
                                                                   "into": str(ids[0])},
                               allow_redirects=False)
    assert merged.status == 303
    assert merged.headers["Location"] == f"/incidents/{ids[0]}"  # the older survives
    gone = await (await client.get(f"/api/incidents/{ids[1]}")).json()
    assert gone["status"] == "merged"
    assert any(e["type"] == "merged" and e["actor"] == "值班员张" for e in gone["timeline"])

    survivor = await (await client.get(f"/incidents/{ids[0]}")).text()
    boxes = re.findall(r"name=item value=(\d+)", survivor)
    assert len(boxes) >= 4
    split = await client.post(f"/incidents/{ids[0]}/split",
                              data=[("csrf", csrf), ("item", boxes[-1]), ("item", boxes[-2])],
                              allow_redirects=False)
    assert split.status == 303
    new_id = int(split.headers["Location"].rsplit("/", 1)[1])
    assert new_id not in ids
    detail = await (await client.get(f"/api/incidents/{new_id}")).json()
    assert detail["status"] == "open"
    assert any(e["type"] == "opened" for e in detail["timeline"])
