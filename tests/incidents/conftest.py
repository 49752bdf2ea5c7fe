"""Replaying small scenarios through the real pipeline (store, analysis, incidents)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.analyze.analyzer import Analyzer, load_analyzer
from monitor.analyze.lexicon import PROJECT_DIR
from monitor.analyze.stage import AnalysisStage
from monitor.clock import SHANGHAI, SimClock
from monitor.incidents import make_engine
from monitor.incidents.prepare import Models
from monitor.incidents.replay import replay
from monitor.incidents.settings import IncidentSettings, load_incident_settings
from monitor.incidents.stage import IncidentStage
from monitor.response.clocks import Clocks
from monitor.response.policy import Policy, load_policy
from monitor.response.roster import Roster, load_roster
from monitor.response.stage import ResponseStage
from monitor.store import Store

START = datetime(2026, 3, 2, 8, 0, tzinfo=SHANGHAI)
Replay = Callable[..., Awaitable[list[dict[str, Any]]]]


@pytest.fixture(scope="session")
def analyzer() -> Analyzer:
    return load_analyzer(PROJECT_DIR / "profile.yaml", PROJECT_DIR / "plans.yaml")


def item(minute: float, source: str, url: str, title: str, text: str = "",
         **extra: Any) -> dict[str, Any]:
    return {"type": "item", "at": (START + timedelta(minutes=minute)).isoformat(),
            "source": source, "url": url, "title": title, "text": text, **extra}


def action(minute: float, name: str, item_url: str, by: str = "值班员甲",
           **extra: Any) -> dict[str, Any]:
    return {"type": "action", "at": (START + timedelta(minutes=minute)).isoformat(),
            "action": name, "item_url": item_url, "by": by, **extra}


@pytest.fixture
def run_replay(tmp_path: Path, analyzer: Analyzer) -> Replay:
    """Replay records through a fresh store; the timeline, and errors under key "errors"."""
    counter = iter(range(1000))

    async def run(records: Iterable[dict[str, Any]], policy: Policy | None = None,
                  roster: Roster | None = None, models: Models | None = None,
                  clocks: bool = True, durable: bool = True, url: str | None = None,
                  settings: IncidentSettings | None = None) -> list[dict[str, Any]]:
        """``clocks=False``: without the response stage; ``durable=False``: on a private
        scratch database, as `monitor replay` without --db; ``url``: another database;
        ``settings``: other incident settings than alerts/incidents.yaml."""
        store = Store(url or f"sqlite:///{tmp_path / f'replay{next(counter)}.db'}", durable)
        clock = SimClock(START)
        engine = make_engine(analyzer, settings or load_incident_settings())
        events: list[dict[str, Any]] = []
        errors: list[str] = []
        response = ResponseStage(store, Clocks(policy or load_policy(), roster or load_roster()),
                                 clock) if clocks else None
        try:
            await replay((json.dumps(r, ensure_ascii=False) if isinstance(r, dict) else r
                          for r in records), store, AnalysisStage(store, analyzer, clock),
                         IncidentStage(store, engine, clock), clock, events.append, errors.append,
                         response, models)
        finally:
            store.close()
        if errors:
            events.append({"type": "errors", "errors": errors})
        return events

    return run


def opened(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == "opened"]


def items_of(events: list[dict[str, Any]], incident: int) -> list[str]:
    return [e["url"] for e in events if e["type"] == "item_added" and e["incident"] == incident]


# A medical dispute told by many voices, and copies of its first post.
DISPUTE = [
    ("weibo-a", "凤庆县人民医院产妇死亡 家属质疑医院延误救治",
     "家属称产妇在凤庆县人民医院生产后大出血，医院延误抢救近两个小时，要求给个说法"),
    ("douyin", "凤庆一产妇在县医院死亡 家属聚集医院门口讨说法",
     "视频显示多名家属聚集在凤庆县人民医院门口，称产妇死亡系医院延误救治所致"),
    ("toutiao", "凤庆县人民医院产妇死亡事件：家属称抢救不及时",
     "家属表示产妇产后出血，值班医生迟迟不到，凤庆县人民医院尚未回应"),
    ("weibo-b", "产妇在凤庆县人民医院死亡，医院到底有没有延误？",
     "网友质疑凤庆县人民医院延误救治产妇，要求卫健部门彻查"),
    ("tieba", "凤庆县医院产妇死了，家属在门口拉横幅",
     "今天路过凤庆县人民医院看到产妇家属拉横幅，说医院延误抢救害死了产妇"),
    ("weibo-c", "凤庆产妇死亡事件持续发酵 家属要求追责",
     "凤庆县人民医院产妇死亡一事引发关注，家属质疑医院延误救治，要求追究责任"),
]
