"""On a private database that held no items, a replay foresees each item's id and story where
it prepares the lines (prepare.Foresight): the timeline is the store's and the engine's own,
whatever the duplicates and the refused lines, and another writer stops the replay."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.analyze.lexicon import PROJECT_DIR
from monitor.clock import SHANGHAI
from monitor.errors import StoreError
from monitor.incidents.prepare import Models, _Keys
from monitor.records import Item
from monitor.store import Store
from monitor.store.items import insert_items
from tests.incidents.conftest import Replay
from tests.incidents.test_prepare import _once_the_second_process_has_loaded

DEMO = Path(__file__).parents[2] / "monitor" / "demo" / "scenario.jsonl"


def _with_duplicates(records: Sequence[dict[str, Any]], filed: set[str]) -> list[object]:
    """The records, each item of an incident followed by copies the store must tell apart:
    the same entry again (its URL with a tracking parameter, so known by its identity), and the
    same URL from another source (a repost, stored); a line out of time order and a broken one
    now and then."""
    out: list[object] = []
    for n, record in enumerate(records):
        out.append(record)
        if record.get("type") != "item" or record["url"] not in filed:
            continue
        out.append({**record, "url": record["url"] + "?utm_source=wx"})
        out.append({**record, "source": record["source"] + "-转载"})
        if n % 7 == 0:
            out.append({**record, "url": record["url"] + "/late", "at": "2026-01-01T00:00:00+08:00"})
            out.append("{broken")
    return out


async def test_the_timeline_is_the_one_the_store_and_the_engine_give(run_replay: Replay) -> None:
    records = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines()]
    plain = await run_replay(records, clocks=False)
    filed = {str(e["url"]) for e in plain if e["type"] == "item_added"}
    scenario = _with_duplicates(records, filed)
    models = Models(PROJECT_DIR / "profile.yaml", PROJECT_DIR / "plans.yaml",
                    PROJECT_DIR / "models", after_lines=0)

    stored = await run_replay(scenario, clocks=False)  # ids and stories from store and engine
    foreseen = await run_replay(scenario, clocks=False, durable=False)
    handed_over = await run_replay(_once_the_second_process_has_loaded(scenario), clocks=False,
                                   durable=False, models=models)

    assert foreseen == stored
    assert handed_over == stored
    added = [e for e in stored if e["type"] == "item_added"]
    # each filed item's repost from another source is filed too, as a copy of its story
    assert sum(e["source"].endswith("-转载") and e["repost"] for e in added) >= len(filed) // 2
    assert not any("utm_source" in str(e["url"]) for e in added)
    assert sum(e["type"] == "opened" for e in stored) >= 4
    errors = stored[-1]["errors"]
    assert errors
    assert all("earlier than the line before" in m or "not JSON" in m for m in errors)


async def test_another_writer_stops_the_replay(run_replay: Replay, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    records = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines()]

    def meddling() -> Iterator[dict[str, Any]]:
        for n, record in enumerate(records):
            if n == len(records) // 2:
                other = Store(url)
                try:
                    other.transaction(lambda c: insert_items(c, [_item()], _item().fetched_at))
                finally:
                    other.close()
            yield record

    with pytest.raises(StoreError, match="other ids than foreseen"):
        await run_replay(meddling(), clocks=False, durable=False, url=url)


def _item() -> Item:
    at = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
    return Item(source="elsewhere", ident="u:https://elsewhere.example/1", guid=None,
                url="https://elsewhere.example/1", url_norm="https://elsewhere.example/1",
                title="另一个进程写入的条目", title_norm="另一个进程写入的条目", summary="",
                published_at=None, fetched_at=at, content_hash="0" * 32)


def test_the_keys_kept_are_a_set_whatever_their_number(monkeypatch: pytest.MonkeyPatch) -> None:
    # the keys move from a set to a sorted array as they grow; the answers stay a set's
    monkeypatch.setattr(_Keys, "SETTLE_AT", 50)
    rng = random.Random(3)  # noqa: S311  (reproducible keys, not a secret)
    keys, same = _Keys(), set[int]()
    for _ in range(300):
        pairs = [(rng.randrange(2000), rng.randrange(2000, 4000))
                 for _ in range(rng.randrange(20))]
        expected = []
        for first, second in pairs:
            unseen = first not in same and second not in same
            if unseen:
                same.update((first, second))
            expected.append(unseen)
        assert keys.take(pairs) == expected
    assert len(same) > 1000
