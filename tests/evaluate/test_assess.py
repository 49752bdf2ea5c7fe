"""Findings proposed from a replayed incident, and the evaluator's decisions on them, which
are timeline events: the latest per ground stands."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.errors import MonitorError
from monitor.evaluate.assess import assess, decide, record_evaluation
from monitor.evaluate.findings import AccountabilityRules
from monitor.store.incidents import timeline_of
from tests.evaluate.conftest import FIRST, OPENED, Replayed, dispute
from tests.incidents.conftest import START, action

NOW = START + timedelta(hours=27)
RULES = AccountabilityRules()


async def test_an_unanswered_major_incident_proposes_an_interview_and_a_person_decides(
        replayed: Replayed) -> None:
    store = await replayed(dispute(action(OPENED + 11, "confirm", FIRST, level="II")))
    a = store.transaction(lambda c: assess(c, 1, NOW, RULES))
    assert {d.key: d.state for d in a.evaluation.deadlines if not d.key.startswith("follow")} \
        == {"internal_report": "missed", "release_target": "missed", "release": "missed",
            "press_conference": "missed"}
    assert [f.name for f in a.proposal.findings] == ["报告不及时", "处置不得力"]
    assert a.proposal.measure == "interview"
    handling = a.proposal.findings[1].facts
    assert any("首次权威发布" in fact and "未完成" in fact for fact in handling)
    assert a.open_grounds == ["late_report", "poor_handling"]
    assert a.measure is None

    store.transaction(lambda c: record_evaluation(c, a, "考核员甲", NOW))
    store.transaction(lambda c: decide(c, a, "late_report", "confirmed", None,
                                       "确未上报", "考核员甲", NOW))
    store.transaction(lambda c: decide(c, a, "poor_handling", "changed", "criticism",
                                       "首次处置，情节较轻", "考核员甲", NOW))
    a = store.transaction(lambda c: assess(c, 1, NOW, RULES))
    assert a.open_grounds == []
    assert {g: (d.decision, d.measure) for g, d in a.decisions.items()} == {
        "late_report": ("confirmed", "interview"), "poor_handling": ("changed", "criticism")}
    assert a.measure == "interview"  # the heaviest upheld

    # a later decision on the same ground stands; the earlier stays on the timeline
    store.transaction(lambda c: decide(c, a, "late_report", "rejected", None,
                                       "已电话报告，有记录", "考核员乙", NOW))
    a = store.transaction(lambda c: assess(c, 1, NOW, RULES))
    assert a.decisions["late_report"].decision == "rejected"
    assert a.decisions["late_report"].by == "考核员乙"
    assert a.measure == "criticism"
    events = store.transaction(lambda c: timeline_of(c, 1))
    assert [e.type for e in events].count("finding_decided") == 3
    evaluated = next(e for e in events if e.type == "evaluated")
    assert evaluated.actor == "考核员甲"
    assert evaluated.data["proposed_measure"] == "interview"


async def test_decisions_need_a_reason_and_a_ground_that_was_proposed(
        replayed: Replayed) -> None:
    store = await replayed(dispute(
        action(OPENED + 10, "ack", FIRST), action(OPENED + 11, "confirm", FIRST, level="II"),
        action(OPENED + 60, "milestone", FIRST, kind="internal_report", document="报告1号"),
        action(OPENED + 120, "milestone", FIRST, kind="authoritative_release",
               url="https://wjw.example/1"),
        action(OPENED + 600, "milestone", FIRST, kind="press_conference",
               url="https://wjw.example/2")))
    a = store.transaction(lambda c: assess(c, 1, NOW, RULES))
    assert a.proposal.findings == ()
    assert a.proposal.measure is None
    with pytest.raises(MonitorError, match="reason"):
        store.transaction(lambda c: decide(c, a, "poor_handling", "changed", "criticism", " ",
                                           "考核员甲", NOW))
    with pytest.raises(MonitorError, match="not proposed"):
        store.transaction(lambda c: decide(c, a, "poor_handling", "confirmed", None, "理由",
                                           "考核员甲", NOW))
    with pytest.raises(MonitorError, match="measure"):
        store.transaction(lambda c: decide(c, a, "poor_handling", "changed", None, "理由",
                                           "考核员甲", NOW))
    # an evaluator may add what the rules did not see
    store.transaction(lambda c: decide(c, a, "improper_response", "changed", "criticism",
                                       "发布内容与事实不符", "考核员甲", NOW))
    a = store.transaction(lambda c: assess(c, 1, NOW, RULES))
    assert a.measure == "criticism"
    assert a.open_grounds == []


async def test_an_evaluation_as_of_a_time_reads_nothing_recorded_after_it(
        replayed: Replayed) -> None:
    release = action(20 * 60, "milestone", FIRST, kind="authoritative_release",
                     url="https://wjw.example.gov.cn/tb/1", channel="官方网站")
    store = await replayed(dispute(action(OPENED + 11, "confirm", FIRST, level="II"), release))
    early = START + timedelta(hours=3)
    a = store.transaction(lambda c: assess(c, 1, early, RULES))
    assert a.events
    assert all(e.at <= early for e in a.events)
    assert all(row["at"] <= early for row in a.items)
    states = {d.key: d.state for d in a.evaluation.deadlines}
    assert states["release"] == "pending"  # at 3 h, the 5 h deadline was still running
    later = store.transaction(lambda c: assess(c, 1, NOW, RULES))
    assert any(e.type == "milestone_recorded" for e in later.events)
    assert {d.key: d.state for d in later.evaluation.deadlines}["release"] != "pending"
