"""人工立案 from the command line on an empty store: the incident and its clocks, then
`monitor clocks run` as the service would follow it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from monitor.clock import SHANGHAI
from monitor.store import Store
from monitor.store.incidents import timeline_of
from monitor.store.response import deadlines_of
from tests.test_cli import monitor


async def test_a_hotline_call_opened_by_hand_misses_its_five_hours_once(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    learned = (datetime.now(SHANGHAI) - timedelta(minutes=10)).replace(microsecond=0)
    code, out, err = await monitor(
        "incident", "open", "--title", "12320来电：某县医院产妇死亡，家属聚集",
        "--text", "来电人称其家属在医院死亡，联系电话13812345678。",
        "--channel", "电话/12320热线", "--at", learned.isoformat(), "--level", "II",
        "--by", "值班员甲", "--json", "--db", db)
    assert code == 0, err
    opened = json.loads(out)
    assert opened["id"] == 1
    assert opened["level"] == "II"
    due = {d["key"]: d["due"] for d in opened["clocks"]["deadlines"]}
    assert datetime.fromisoformat(due["release"]) == learned + timedelta(hours=5)
    later = (learned + timedelta(hours=6)).isoformat()
    for _ in range(2):  # the second run finds nothing more to do
        code, out, err = await monitor("clocks", "run", "--until", later, "--db", db)
        assert code == 0, err
    store = Store(db)
    try:
        deadlines = {d.key: d for d in store.transaction(lambda c: deadlines_of(c, 1))}
        events = store.transaction(lambda c: timeline_of(c, 1))
    finally:
        store.close()
    assert deadlines["release"].due_at == learned + timedelta(hours=5)
    assert deadlines["release"].status == "missed"
    assert [e.data["deadline"] for e in events
            if e.type == "deadline_missed"].count("release") == 1
    assert any(e.type == "escalated" for e in events)
    first = events[0]
    assert (first.type, first.actor, first.data["channel"]) == ("opened", "值班员甲",
                                                                 "电话/12320热线")
    assert "13812345678" not in json.dumps([e.data for e in events], ensure_ascii=False)


async def test_a_time_to_come_or_an_unknown_item_is_refused(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    soon = (datetime.now(SHANGHAI) + timedelta(hours=2)).isoformat()
    code, _, err = await monitor("incident", "open", "--title", "来电", "--at", soon,
                                 "--by", "值班员甲", "--db", db)
    assert code == 1
    assert "is in the future" in err
    code, _, err = await monitor("incident", "open", "--title", "来电", "--item-url",
                                 "https://nowhere.example/1", "--by", "值班员甲", "--db", db)
    assert code == 1
    assert "no stored item has the URL https://nowhere.example/1" in err
    code, out, _ = await monitor("incident", "list", "--all", "--db", db)
    assert out.strip() == ""  # nothing half-opened
