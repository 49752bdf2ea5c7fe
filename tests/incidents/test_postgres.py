"""The store on a real PostgreSQL server, started for these tests from the system's binaries:
the demo scenario gives the same timeline as on SQLite, so every statement of the pipeline
(the plain SQL of the hot paths included) runs and converts values alike on both."""

from __future__ import annotations

import json

from tests.incidents.conftest import Replay
from tests.incidents.test_demo import DEMO


async def test_the_demo_gives_the_same_timeline_on_postgresql(run_replay: Replay,
                                                               postgres_url: str) -> None:
    lines = (DEMO / "scenario.jsonl").read_text(encoding="utf-8").splitlines()
    on_sqlite = await run_replay(json.loads(line) for line in lines)
    on_postgres = await run_replay((json.loads(line) for line in lines), url=postgres_url)
    assert {e["type"] for e in on_postgres} >= {"opened", "item_added", "level_proposed"}
    assert on_postgres == on_sqlite
