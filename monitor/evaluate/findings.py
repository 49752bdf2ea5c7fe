"""Accountability findings proposed from an evaluation: 报告不及时, 处置不得力 and 回应不妥当,
each with the facts behind it, and a proposed measure (通报批评 or 约谈整改). They are proposals:
an evaluator confirms, changes or rejects each one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from monitor.config import PROJECT_DIR, read_yaml, validate
from monitor.evaluate.evaluation import Evaluation

ACCOUNTABILITY_PATH = PROJECT_DIR / "alerts" / "accountability.yaml"
GROUNDS = {"late_report": "报告不及时", "poor_handling": "处置不得力",
           "improper_response": "回应不妥当"}
MEASURES = {"criticism": "通报批评", "interview": "约谈整改"}


class AccountabilityRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    negativity_rise: float = Field(default=0.1, ge=0, le=1)
    volume_rebound: float = Field(default=1.2, gt=0)
    unanswered_escalations: int = Field(default=3, ge=1)
    interview_grounds: int = Field(default=2, ge=1, le=3)


@dataclass(frozen=True)
class Finding:
    ground: str  # late_report, poor_handling, improper_response
    facts: tuple[str, ...]  # in Chinese, with the numbers

    @property
    def name(self) -> str:
        return GROUNDS[self.ground]


@dataclass(frozen=True)
class Proposal:
    findings: tuple[Finding, ...]
    measure: str | None  # criticism, interview; None without findings
    why: str


def load_rules(path: Path = ACCOUNTABILITY_PATH) -> AccountabilityRules:
    return validate(path, AccountabilityRules, read_yaml(path))


def propose(ev: Evaluation, rules: AccountabilityRules) -> Proposal:
    findings = []
    report = next((d for d in ev.deadlines if d.key == "internal_report"), None)
    if report is not None and not report.on_time and not report.pending:
        fact = ("书面上报未完成" if report.late_minutes is None
                else f"书面上报晚{report.late_minutes}分钟")
        findings.append(Finding("late_report", (fact,)))
    missed = [d for d in ev.deadlines if d.key != "internal_report" and not d.on_time
              and not d.pending and not d.key.startswith("follow_up_")]
    handling = [f"{d.label}{'未完成' if d.late_minutes is None else f'晚{d.late_minutes}分钟'}"
                for d in missed]
    if ev.escalations >= rules.unanswered_escalations and ev.acknowledged_at is None:
        handling.append(f"升级{ev.escalations}次仍无人确认")
    if handling:
        findings.append(Finding("poor_handling", tuple(handling)))
    op = ev.opinion
    response = []
    if op is not None and op.before_negative is not None and op.after_negative is not None \
            and op.after_negative - op.before_negative > rules.negativity_rise:
        response.append(f"发布后负面占比由{op.before_negative:.0%}升至{op.after_negative:.0%}")
    if op is not None and op.decline_ratio is not None and op.decline_ratio > rules.volume_rebound:
        response.append(f"发布后6小时信息量为之前的{op.decline_ratio:.1f}倍")
    if response:
        findings.append(Finding("improper_response", tuple(response)))
    if not findings:
        return Proposal((), None, "未发现问责情形")
    hard_missed = [d for d in missed if d.hard]
    if hard_missed or len(findings) >= rules.interview_grounds:
        why = (f"错过{hard_missed[0].label}" if hard_missed
               else f"{len(findings)}项问责情形")
        return Proposal(tuple(findings), "interview", why)
    return Proposal(tuple(findings), "criticism", f"{findings[0].name}")
