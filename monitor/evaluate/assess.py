"""An incident's evaluation read from the store, the findings proposed from it, and the
evaluator's decision on each finding. Decisions are timeline events like every other act, so
the latest one per ground stands and the history stays; nothing is final without a person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from monitor.errors import MonitorError
from monitor.evaluate.evaluation import Evaluation, evaluate
from monitor.evaluate.findings import GROUNDS, MEASURES, AccountabilityRules, Proposal, propose
from monitor.records import Incident, TimelineEvent
from monitor.store.incidents import (
    append_timeline,
    get_incident,
    incident_item_rows,
    reflares_of,
    timeline_of,
)

DECISIONS = {"confirmed": "确认", "changed": "变更", "rejected": "驳回"}
SEVERITY = ("criticism", "interview")


@dataclass(frozen=True)
class Decision:
    ground: str
    decision: str  # confirmed, changed, rejected
    measure: str | None  # None when rejected
    reason: str
    by: str
    at: datetime
    unit: str | None = None  # the unit held accountable, when the evaluator named one


@dataclass(frozen=True)
class Assessment:
    incident: Incident
    evaluation: Evaluation
    proposal: Proposal
    decisions: dict[str, Decision]  # the latest per ground
    events: list[TimelineEvent]
    items: list[dict[str, Any]]

    @property
    def open_grounds(self) -> list[str]:
        """Proposed findings nobody has decided on yet."""
        return [f.ground for f in self.proposal.findings if f.ground not in self.decisions]

    @property
    def measure(self) -> str | None:
        """The measure decided by the evaluators: the heaviest one upheld."""
        upheld = [d.measure for d in self.decisions.values() if d.measure is not None]
        return max(upheld, key=SEVERITY.index) if upheld else None


def decisions_of(events: list[TimelineEvent]) -> dict[str, Decision]:
    found: dict[str, Decision] = {}
    for e in events:
        if e.type == "finding_decided":
            d = e.data
            found[str(d["ground"])] = Decision(
                str(d["ground"]), str(d["decision"]),
                None if d.get("measure") is None else str(d["measure"]), str(d["reason"]),
                e.actor, e.at, None if d.get("unit") is None else str(d["unit"]))
    return found


def assess(conn: Connection, incident_id: int, now: datetime,
           rules: AccountabilityRules) -> Assessment:
    """The incident evaluated as the timeline stood at ``now``."""
    incident = get_incident(conn, incident_id)
    if incident is None:
        raise MonitorError(f"no incident #{incident_id}; `monitor incident list --all` shows them")
    # as of ``now``: what had been recorded by then, and nothing a later entry added (an
    # action recorded months afterwards must not change a report dated before it)
    events = [e for e in timeline_of(conn, incident_id) if e.at <= now]
    items = [row for row in incident_item_rows(conn, incident_id) if row["seen"] <= now]
    evaluation = evaluate(incident_id, events, items, now, bool(reflares_of(conn, incident_id)))
    return Assessment(incident, evaluation, propose(evaluation, rules), decisions_of(events),
                      events, items)


def record_evaluation(conn: Connection, assessment: Assessment, by: str,
                      now: datetime) -> TimelineEvent:
    """The evaluation as it stood when a person looked at it, on the timeline."""
    ev, proposal = assessment.evaluation, assessment.proposal
    event = TimelineEvent(ev.incident_id, now, "evaluated", by, {
        "score": ev.score, "score_parts": ev.score_parts,
        "deadlines": {d.key: d.state for d in ev.deadlines},
        "proposed": [{"ground": f.ground, "name": f.name, "facts": list(f.facts)}
                     for f in proposal.findings],
        "proposed_measure": proposal.measure})
    append_timeline(conn, [event])
    return event


def decide(conn: Connection, assessment: Assessment, ground: str, decision: str,
           measure: str | None, reason: str, by: str, now: datetime,
           unit: str | None = None) -> TimelineEvent:
    """Confirm a proposed finding (with its proposed measure unless another is given), change
    it (a finding the rules did not propose may be added this way), or reject it. ``unit``
    names the unit held accountable when it is not the incident's own health authority."""
    if ground not in GROUNDS:
        raise MonitorError(f"unknown ground {ground!r}; one of {', '.join(GROUNDS)}")
    if decision not in DECISIONS:
        raise MonitorError(f"unknown decision {decision!r}; one of {', '.join(DECISIONS)}")
    if not reason.strip():
        raise MonitorError("a decision needs a reason (--reason)")
    if measure is not None and measure not in MEASURES:
        raise MonitorError(f"unknown measure {measure!r}; one of {', '.join(MEASURES)}")
    proposed = {f.ground: f for f in assessment.proposal.findings}
    if decision == "confirmed":
        if ground not in proposed:
            raise MonitorError(f"{ground} was not proposed for incident "
                               f"#{assessment.incident.id}; use 'changed' to add it")
        measure = measure or assessment.proposal.measure
    elif decision == "changed" and measure is None:
        raise MonitorError("a changed finding needs its measure (--measure criticism|interview)")
    elif decision == "rejected":
        measure = None
    finding = proposed.get(ground)
    event = TimelineEvent(assessment.incident.id, now, "finding_decided", by, {
        "ground": ground, "name": GROUNDS[ground], "decision": decision, "measure": measure,
        "reason": reason.strip(), "unit": (unit or "").strip() or None,
        "proposed": finding is not None,
        "facts": list(finding.facts) if finding else [],
        "proposed_measure": assessment.proposal.measure})
    append_timeline(conn, [event])
    return event
