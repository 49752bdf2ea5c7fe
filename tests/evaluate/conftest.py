from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.analyze.analyzer import Analyzer
from monitor.analyze.stage import AnalysisStage
from monitor.clock import SimClock
from monitor.incidents import make_engine
from monitor.incidents.replay import replay
from monitor.incidents.settings import load_incident_settings
from monitor.incidents.stage import IncidentStage
from monitor.response.clocks import Clocks
from monitor.response.policy import load_policy
from monitor.response.roster import load_roster
from monitor.response.stage import ResponseStage
from monitor.store import Store
from tests.incidents.conftest import DISPUTE, START, analyzer, item

__all__ = ["analyzer"]  # the fixture, for this package's tests

FIRST = "https://d.example/0"
OPENED = 24  # the fifth item of the dispute opens the incident

Replayed = Callable[[Iterable[dict[str, Any]]], Awaitable[Store]]


def dispute(*after: dict[str, Any], end_hours: float = 27) -> list[dict[str, Any]]:
    """The dispute's posts, then ``after``, then the end of the scenario."""
    records = [item(i * 6, s, f"https://d.example/{i}", t, b)
               for i, (s, t, b) in enumerate(DISPUTE)]
    return [*records, *after,
            {"type": "end", "at": (START + timedelta(hours=end_hours)).isoformat()}]


@pytest.fixture
def replayed(tmp_path: Path, analyzer: Analyzer) -> Replayed:
    """Replay records through the whole pipeline into a fresh store, left open for reading
    (closed by the fixture)."""
    stores: list[Store] = []

    async def run(records: Iterable[dict[str, Any]]) -> Store:
        store = Store(f"sqlite:///{tmp_path / f'e{len(stores)}.db'}")
        stores.append(store)
        clock = SimClock(START)
        await replay((json.dumps(r, ensure_ascii=False) for r in records), store,
                     AnalysisStage(store, analyzer, clock),
                     IncidentStage(store, make_engine(analyzer, load_incident_settings()), clock),
                     clock, lambda e: None, lambda m: None,
                     ResponseStage(store, Clocks(load_policy(), load_roster()), clock))
        return store

    yield run  # type: ignore[misc]
    for store in stores:
        store.close()

