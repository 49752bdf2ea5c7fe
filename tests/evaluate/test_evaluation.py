"""The evaluation of a replayed incident with known times, figure by figure."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from monitor.analyze.analyzer import Analyzer
from monitor.analyze.stage import AnalysisStage
from monitor.clock import SimClock
from monitor.evaluate.evaluation import evaluate
from monitor.incidents import make_engine
from monitor.incidents.replay import replay
from monitor.incidents.settings import load_incident_settings
from monitor.incidents.stage import IncidentStage
from monitor.response.clocks import Clocks
from monitor.response.policy import load_policy
from monitor.response.roster import load_roster
from monitor.response.stage import ResponseStage
from monitor.store import Store
from monitor.store.incidents import incident_item_rows, timeline_of
from tests.incidents.conftest import DISPUTE, START, action, item

FIRST = "https://d.example/0"
OPENED = 24  # the fifth item of the dispute opens the incident


async def test_every_figure_to_the_minute(tmp_path: Path, analyzer: Analyzer) -> None:
    records = [item(i * 6, s, f"https://d.example/{i}", t, b)
               for i, (s, t, b) in enumerate(DISPUTE)]
    records += [
        action(OPENED + 10, "ack", FIRST),
        action(OPENED + 11, "confirm", FIRST, level="II"),
        action(OPENED + 90, "milestone", FIRST, kind="internal_report", document="凤卫〔2026〕1号"),
        # released at 2 h 40 min, recorded a little later with the time it happened
        action(OPENED + 175, "milestone", FIRST, kind="authoritative_release",
               url="https://wjw.example/1",
               time=(START + timedelta(minutes=OPENED + 160)).isoformat()),
        # two more posts after the release
        item(OPENED + 200, "weibo-z", "https://d.example/z1", DISPUTE[0][1], DISPUTE[0][2]),
        item(OPENED + 260, "weibo-y", "https://d.example/z2", DISPUTE[1][1], DISPUTE[1][2]),
        action(OPENED + 24 * 60 + 30, "milestone", FIRST, kind="follow_up",
               url="https://wjw.example/2"),
        {"type": "end", "at": (START + timedelta(hours=27)).isoformat()},
    ]
    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    clock = SimClock(START)
    try:
        await replay((json.dumps(r, ensure_ascii=False) for r in records), store,
                     AnalysisStage(store, analyzer, clock),
                     IncidentStage(store, make_engine(analyzer, load_incident_settings()), clock),
                     clock, lambda e: None, lambda m: None,
                     ResponseStage(store, Clocks(load_policy(), load_roster()), clock))
        events = store.transaction(lambda c: timeline_of(c, 1))
        items = store.transaction(lambda c: incident_item_rows(c, 1))
    finally:
        store.close()
    ev = evaluate(1, events, items, reflared=False)
    opened = START + timedelta(minutes=OPENED)
    assert ev.first_item_at == START
    assert ev.detection_lag_minutes == OPENED
    assert ev.ack_latency_minutes == 10
    assert ev.release_at == opened + timedelta(minutes=160)
    deadlines = {d.key: (d.due - opened, d.on_time, d.late_minutes) for d in ev.deadlines}
    assert deadlines == {
        "internal_report": (timedelta(hours=2), True, 0),
        "release_target": (timedelta(hours=3), True, 0),
        "release": (timedelta(hours=5), True, 0),
        "press_conference": (timedelta(hours=24), False, None),
        # the follow-up came 21 h 50 min after the release, inside its 24 h; the next runs
        "follow_up_1": (timedelta(minutes=160, hours=24), True, 0),
        "follow_up_2": (timedelta(minutes=30, hours=48), False, None),
    }
    assert ev.follow_up_gaps_hours == [round((24 * 60 + 30 - 160) / 60, 1)]
    assert ev.escalations == 0
    assert ev.on_duty  # the duty officer told when it opened
    op = ev.opinion
    assert op is not None
    assert (op.before_items, op.after_items) == (6, 2)
    assert op.decline_ratio == round(2 / 6, 2)
    assert op.peak_items == 6  # minutes 0–30 of the first hour hold all six
    assert op.peak_hour == START
    # one item in the release's hour (11:44), one in the next (12:44), none at 13:00
    assert op.half_life_hours == 2.0
    assert op.after_negative is not None
    assert op.before_negative is not None
    # 40 × 4 of 6 on time, 30 × (1 − 1/3), the negativity part, 10 without re-flare
    assert ev.score_parts["deadlines_on_time"] == 26.7
    assert ev.score_parts["volume_declined"] == 20.1
    assert ev.score_parts["negativity_fell"] == 0.0  # the later posts are as angry
    assert ev.score_parts["no_reflare"] == 10.0
    assert ev.score == round(sum(ev.score_parts.values()), 1)
