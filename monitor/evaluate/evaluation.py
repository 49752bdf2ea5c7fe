"""An incident's evaluation, computed only from its timeline and its items: how fast it was
seen, acknowledged and answered against each deadline, and how opinion went around the first
authoritative release. The effectiveness score is shown with its parts, never alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from monitor.records import TimelineEvent

WINDOW = timedelta(hours=6)  # opinion compared in the six hours before and after the release
HOUR = timedelta(hours=1)
REFLARE_MIN_ITEMS = 3  # an hour with fewer items is not a second wave, however it compares


@dataclass(frozen=True)
class DeadlineResult:
    key: str
    label: str
    due: datetime
    met_at: datetime | None  # by the milestone's evidence time
    on_time: bool
    late_minutes: int | None  # None when never met
    pending: bool = False  # not met and not yet due when evaluated
    hard: bool = False  # the policy's latest permitted time, not a target

    @property
    def state(self) -> str:
        if self.pending:
            return "pending"
        if self.met_at is None:
            return "missed"
        return "met" if self.on_time else "late"


@dataclass(frozen=True)
class Opinion:
    before_items: int
    after_items: int
    before_negative: float | None  # mean negativity, None without items
    after_negative: float | None
    peak_hour: datetime | None
    peak_items: int
    half_life_hours: float | None  # from the release until hourly volume halves
    decline_ratio: float | None  # items after / items before


@dataclass(frozen=True)
class Evaluation:
    incident_id: int
    first_item_at: datetime | None
    opened_at: datetime | None
    detection_lag_minutes: int | None
    acknowledged_at: datetime | None
    ack_latency_minutes: int | None
    release_at: datetime | None
    deadlines: list[DeadlineResult]
    follow_up_gaps_hours: list[float]
    escalations: int
    delivery_failures: int
    on_duty: list[str]
    opinion: Opinion | None
    reflared: bool
    score_parts: dict[str, float] = field(default_factory=dict)

    @property
    def score(self) -> float:
        return round(sum(self.score_parts.values()), 1)


def _minutes(a: datetime | None, b: datetime | None) -> int | None:
    return None if a is None or b is None else round((b - a).total_seconds() / 60)


def _when(event: TimelineEvent) -> datetime:
    value = event.data.get("time")
    return datetime.fromisoformat(value) if isinstance(value, str) else event.at


def evaluate(incident_id: int, events: list[TimelineEvent], items: list[dict[str, Any]],
             now: datetime, secondary: bool = False) -> Evaluation:
    """``items``: the incident's items with ``at`` (when they happened) and ``negative``;
    ``now``: when it is evaluated, so a deadline still running is pending, not missed;
    ``secondary``: a later incident was opened as this one flaring up again."""
    first = min((i["at"] for i in items), default=None)
    opened = next((e.at for e in events if e.type == "opened"), None)
    acked = next((e.at for e in events if e.type == "acknowledged"), None)
    releases = sorted(_when(e) for e in events if e.type == "milestone_recorded"
                      and e.data.get("kind") == "authoritative_release")
    release = releases[0] if releases else None
    # the latest plan of each deadline, and whether and when it was met
    planned: dict[str, TimelineEvent] = {}
    for e in events:
        if e.type == "deadline_set":
            planned[str(e.data["deadline"])] = e
        elif e.type == "deadline_cancelled":
            planned.pop(str(e.data["deadline"]), None)
    met = {str(e.data["deadline"]): datetime.fromisoformat(str(e.data["met_at"]))
           for e in events if e.type == "deadline_met"}
    results = []
    for key, e in planned.items():
        due = datetime.fromisoformat(str(e.data["due"]))
        at = met.get(key)
        late = None if at is None else max(0, _minutes(due, at) or 0)
        results.append(DeadlineResult(key, str(e.data.get("label", key)), due, at,
                                      at is not None and at <= due, late,
                                      pending=at is None and due > now,
                                      hard=bool(e.data.get("hard"))))
    results.sort(key=lambda r: r.due)
    follow_ups = sorted(_when(e) for e in events if e.type == "milestone_recorded"
                        and e.data.get("kind") in ("authoritative_release", "follow_up"))
    gaps = [round((b - a).total_seconds() / 3600, 1) for a, b in pairwise(follow_ups)]
    on_duty = sorted({str(n) for e in events if e.type == "notified"
                      for n in e.data.get("to", [])})  # type: ignore[attr-defined]
    hours = _hourly(items)
    opinion = _opinion(items, hours, release) if release is not None else None
    # 次生舆情: dismissed and back again after the release, or a second wave of posts
    resurfaced = any(e.type == "resurfaced" and (release is None or e.at >= release)
                     for e in events)
    reflared = secondary or resurfaced or (release is not None and _second_wave(hours, release))
    evaluation = Evaluation(
        incident_id, first, opened, _minutes(first, opened), acked, _minutes(opened, acked),
        release, results, gaps, sum(e.type == "escalated" for e in events),
        sum(e.type == "delivery_failed" for e in events), on_duty, opinion, reflared)
    return _scored(evaluation)


def _hourly(items: list[dict[str, Any]]) -> dict[datetime, int]:
    hours: dict[datetime, int] = {}
    for i in items:
        slot = i["at"].replace(minute=0, second=0, microsecond=0)
        hours[slot] = hours.get(slot, 0) + 1
    return hours


def _second_wave(hours: dict[datetime, int], release: datetime) -> bool:
    """After the reaction to the release (its peak within three hours), volume fell to half
    of that peak and later climbed back to it."""
    start = release.replace(minute=0, second=0, microsecond=0)
    reaction = [start + n * HOUR for n in range(3)]
    peak_at = max(reaction, key=lambda h: hours.get(h, 0))
    base = hours.get(peak_at, 0)
    calmed = False
    slot = peak_at + HOUR
    while hours and slot <= max(hours):
        count = hours.get(slot, 0)
        if calmed and count >= max(base, REFLARE_MIN_ITEMS):
            return True
        calmed = calmed or count <= base / 2
        slot += HOUR
    return False


def _opinion(items: list[dict[str, Any]], hours: dict[datetime, int],
             release: datetime) -> Opinion:
    before = [i for i in items if release - WINDOW <= i["at"] < release]
    after = [i for i in items if release <= i["at"] < release + WINDOW]
    peak_hour = max(hours, key=lambda h: (hours[h], -h.timestamp())) if hours else None
    # from the release, the first hour whose volume is at most half the release hour's
    start = release.replace(minute=0, second=0, microsecond=0)
    base = max(hours.get(start, 0), 1)
    half = None
    for n in range(1, 73):
        if hours.get(start + n * HOUR, 0) <= base / 2:
            half = float(n)
            break
    return Opinion(
        len(before), len(after),
        round(sum(i["negative"] for i in before) / len(before), 3) if before else None,
        round(sum(i["negative"] for i in after) / len(after), 3) if after else None,
        peak_hour, hours[peak_hour] if peak_hour else 0, half,
        round(len(after) / len(before), 2) if before else None)


def _scored(ev: Evaluation) -> Evaluation:
    """Up to 40 for meeting deadlines on time, 30 for opinion declining after the release,
    20 for negativity falling, 10 for no re-flare."""
    parts: dict[str, float] = {}
    due = [r for r in ev.deadlines if not r.pending]
    if due:
        parts["deadlines_on_time"] = round(40 * sum(r.on_time for r in due) / len(due), 1)
    op = ev.opinion
    if op is not None and op.decline_ratio is not None:
        parts["volume_declined"] = round(30 * max(0.0, min(1.0, 1 - op.decline_ratio)), 1)
    if op is not None and op.before_negative is not None and op.after_negative is not None:
        parts["negativity_fell"] = round(20 * max(0.0, min(1.0, op.before_negative
                                                            - op.after_negative) * 2), 1)
    parts["no_reflare"] = 0.0 if ev.reflared else 10.0
    return Evaluation(**{**ev.__dict__, "score_parts": parts})
