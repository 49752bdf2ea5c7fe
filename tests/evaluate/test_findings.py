"""Accountability findings: each ground proposed from its facts, and only then."""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor.clock import SHANGHAI
from monitor.evaluate.evaluation import DeadlineResult, Evaluation, Opinion
from monitor.evaluate.findings import AccountabilityRules, propose

T = datetime(2026, 3, 2, 8, 24, tzinfo=SHANGHAI)
RULES = AccountabilityRules()


def deadline(key: str, hours: float, late: int | None) -> DeadlineResult:
    due = T + timedelta(hours=hours)
    met = None if late is None else due + timedelta(minutes=late)
    return DeadlineResult(key, {"internal_report": "书面上报（2小时内）",
                                "release": "首次权威发布（5小时时限）",
                                "press_conference": "新闻发布会（24小时内）"}.get(key, key),
                          due, met, late == 0, late, hard=key == "release")


def evaluation(*deadlines: DeadlineResult, before: float = 0.8, after: float = 0.5,
               ratio: float = 0.4, escalations: int = 0, acked: bool = True) -> Evaluation:
    opinion = Opinion(10, int(10 * ratio), before, after, T, 6, 2.0, ratio)
    return Evaluation(7, T, T, 20, T if acked else None, 10 if acked else None, T,
                      list(deadlines), [], escalations, 0, ["值班员甲"], opinion, False)


def test_a_good_response_proposes_nothing() -> None:
    proposal = propose(evaluation(deadline("internal_report", 2, 0), deadline("release", 5, 0)),
                       RULES)
    assert proposal.findings == ()
    assert proposal.measure is None


def test_a_missing_report_alone_is_criticised() -> None:
    proposal = propose(evaluation(deadline("internal_report", 2, None),
                                  deadline("release", 5, 0)), RULES)
    assert [(f.name, f.facts) for f in proposal.findings] == [("报告不及时", ("书面上报未完成",))]
    assert proposal.measure == "criticism"


def test_a_missed_hard_deadline_and_rising_anger_call_for_an_interview() -> None:
    proposal = propose(evaluation(deadline("internal_report", 2, 30), deadline("release", 5, 95),
                                  before=0.5, after=0.8, ratio=1.6), RULES)
    assert [f.ground for f in proposal.findings] == ["late_report", "poor_handling",
                                                     "improper_response"]
    assert proposal.findings[1].facts == ("首次权威发布（5小时时限）晚95分钟",)
    assert proposal.findings[2].facts == ("发布后负面占比由50%升至80%", "发布后6小时信息量为之前的1.6倍")
    assert proposal.measure == "interview"
    assert "5小时" in proposal.why


def test_an_unanswered_ladder_is_poor_handling_and_margins_come_from_the_rules() -> None:
    proposal = propose(evaluation(escalations=3, acked=False, before=0.5, after=0.55), RULES)
    assert [(f.ground, f.facts) for f in proposal.findings] == [
        ("poor_handling", ("升级3次仍无人确认",))]
    strict = RULES.model_copy(update={"negativity_rise": 0.01})
    stricter = propose(evaluation(before=0.5, after=0.55), strict)
    assert [f.ground for f in stricter.findings] == ["improper_response"]
