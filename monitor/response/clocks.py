"""The response clocks: timeline events in, deadlines and due actions out; due actions carried
out with their timeline events and outbox rows.

Everything lives in the store. ``handle`` turns one timeline event into changes of the
incident's clock, deadlines and pending actions; ``carry_out`` claims one due action and does
it. Both run inside the caller's transaction, so an event or an action is either wholly done
(with its cursor, its events and its alerts) or not at all.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from monitor import failpoints
from monitor.clock import SHANGHAI
from monitor.incidents.settings import LEVELS
from monitor.records import Deadline, DueAction, TimelineEvent
from monitor.response.policy import Policy
from monitor.response.roster import Roster
from monitor.store.incidents import append_timeline, get_incident
from monitor.store.response import (
    ClockRow,
    add_actions,
    add_outbox,
    cancel_actions,
    claim,
    deadlines_of,
    get_clock,
    item_time,
    milestones_of,
    put_clock,
    put_deadline,
)

SYSTEM = "system"
FOLLOW_UP = "follow_up_"
STOPS = {"dismissed": "dismissed", "closed": "closed", "merged": "merged"}


def _severity(level: str | None) -> int:
    return LEVELS.index(level) if level in LEVELS else len(LEVELS)


def _iso(at: datetime) -> str:
    return at.astimezone(SHANGHAI).isoformat()


def _milestone_time(event: TimelineEvent) -> datetime:
    """When the milestone happened, by its evidence; when it was recorded otherwise."""
    when = event.data.get("time")
    if isinstance(when, str):
        try:
            parsed = datetime.fromisoformat(when)
        except ValueError:
            return event.at
        return parsed if parsed.tzinfo else event.at
    return event.at


def planned_start(policy: Policy, detected: datetime, first_item: datetime,
                  occurred: datetime | None) -> datetime:
    """When an incident's clocks start under the policy's rule (as _start and _occurred
    set it): detection, the first item, or the occurrence once it is entered."""
    if policy.clock_start == "first_item":
        return first_item
    if policy.clock_start == "occurred" and occurred is not None:
        return occurred
    return detected


class Clocks:
    def __init__(self, policy: Policy, roster: Roster) -> None:
        self.policy = policy
        self.roster = roster

    # --- timeline events ---------------------------------------------------------------------

    def handle(self, conn: Connection, event: TimelineEvent, now: datetime) -> None:
        if event.type == "opened":
            self._start(conn, event, now)
            return
        clock = get_clock(conn, event.incident_id)
        if clock is None:
            return
        if event.type in STOPS:
            if clock.stopped is None:
                self._stop(conn, clock, STOPS[event.type], now)
            return
        handler = {"level_proposed": self._proposed, "confirmed": self._confirmed,
                   "acknowledged": self._acknowledged, "milestone_recorded": self._milestone,
                   "occurred_set": self._occurred, "resurfaced": self._resurfaced}.get(event.type)
        if handler is not None:
            handler(conn, clock, event, now)

    def _proposed(self, conn: Connection, clock: ClockRow, event: TimelineEvent,
                  now: datetime) -> None:
        # proposals only raise the level: a cooling incident keeps the clocks a person or a
        # hotter moment gave it, until somebody confirms a level
        level = str(event.data.get("level"))
        if (not clock.level_confirmed and clock.stopped is None
                and _severity(level) < _severity(clock.level)):
            self._replan(conn, replace(clock, level=level), now, reason="level_proposed")

    def _confirmed(self, conn: Connection, clock: ClockRow, event: TimelineEvent,
                   now: datetime) -> None:
        level = str(event.data.get("level"))
        clock = replace(clock, level_confirmed=True)
        if level != clock.level and clock.stopped is None:
            self._replan(conn, replace(clock, level=level), now, reason="confirmed")
        else:
            put_clock(conn, replace(clock, level=level), new=False)

    def _acknowledged(self, conn: Connection, clock: ClockRow, event: TimelineEvent,
                      now: datetime) -> None:
        if clock.acknowledged_at is None:
            put_clock(conn, replace(clock, acknowledged_at=event.at, acknowledged_by=event.actor),
                      new=False)
            cancel_actions(conn, clock.incident_id, kind="escalate")

    def _occurred(self, conn: Connection, clock: ClockRow, event: TimelineEvent,
                  now: datetime) -> None:
        occurred = datetime.fromisoformat(str(event.data["time"]))
        clock = replace(clock, occurred_at=occurred)
        if clock.start_rule == "occurred" and clock.stopped is None:
            self._replan(conn, replace(clock, start_at=occurred), now, reason="occurred_set")
        else:
            put_clock(conn, clock, new=False)

    def _resurfaced(self, conn: Connection, clock: ClockRow, event: TimelineEvent,
                    now: datetime) -> None:
        if clock.stopped == "dismissed":
            self._replan(conn, replace(clock, stopped=None), now, reason="resurfaced")

    def _start(self, conn: Connection, event: TimelineEvent, now: datetime) -> None:
        incident = get_incident(conn, event.incident_id)
        if incident is None or get_clock(conn, event.incident_id) is not None:
            return
        policy = self.policy
        detected = event.at
        first = item_time(conn, incident.first_item_id) or detected
        start = first if policy.clock_start == "first_item" else detected
        level = str(event.data.get("level") or incident.proposed_level or LEVELS[-1])
        clock = ClockRow(incident_id=incident.id, policy=policy.freeze(),
                         start_rule=policy.clock_start, detected_at=detected,
                         first_item_at=min(first, detected), occurred_at=None, start_at=start,
                         level=level, level_confirmed=False)
        put_clock(conn, clock, new=True)
        self._plan(conn, clock, policy, now, reason="opened")
        # the first step of the ladder is told at once; the next when nobody acknowledged
        add_actions(conn, [DueAction(incident.id, "escalate", now, step=0)])

    def _replan(self, conn: Connection, clock: ClockRow, now: datetime, reason: str) -> None:
        put_clock(conn, clock, new=False)
        self._plan(conn, clock, Policy.thaw(clock.policy), now, reason)

    def _plan(self, conn: Connection, clock: ClockRow, policy: Policy, now: datetime,
              reason: str) -> None:
        """Bring the incident's deadlines to its level and start, from the frozen policy: new
        and moved deadlines are set (and met at once by milestones already recorded), those
        the level no longer carries are cancelled; met and missed ones stay as they were."""
        existing = {d.key: d for d in deadlines_of(conn, clock.incident_id)}
        wanted = {rule.key: rule for rule in policy.deadlines(clock.level)}
        events: list[TimelineEvent] = []
        follow_ups = clock.level in policy.follow_up.levels
        for key, old in existing.items():
            if (key not in wanted and old.status == "pending"
                    and (not key.startswith(FOLLOW_UP) or not follow_ups)):
                put_deadline(conn, replace(old, status="cancelled"))
                cancel_actions(conn, clock.incident_id, deadline_key=key)
                events.append(TimelineEvent(clock.incident_id, now, "deadline_cancelled", SYSTEM,
                                            {"deadline": key, "label": old.label,
                                             "level": clock.level, "reason": reason}))
        milestones = milestones_of(conn, clock.incident_id)
        for key, rule in wanted.items():
            due = clock.start_at + timedelta(seconds=rule.within)
            previous = existing.get(key)
            if previous is not None and previous.status != "cancelled" and \
                    previous.due_at == due:
                continue  # unchanged: met, missed or still running as planned
            deadline = Deadline(clock.incident_id, key, rule.label, tuple(rule.met_by),
                                rule.hard, due, id=previous.id if previous is not None else None)
            if previous is not None:
                cancel_actions(conn, clock.incident_id, deadline_key=key)
            events.append(TimelineEvent(clock.incident_id, now, "deadline_set", SYSTEM, {
                "deadline": key, "label": rule.label, "due": _iso(due), "hard": rule.hard,
                "level": clock.level, "start": _iso(clock.start_at),
                "start_rule": clock.start_rule, "reason": reason}))
            met = next((m for m in milestones if m.data.get("kind") in rule.met_by), None)
            if met is not None:
                deadline, event = _meet(deadline, _milestone_time(met), now)
                events.append(event)
                put_deadline(conn, deadline)
            else:
                put_deadline(conn, deadline)
                add_actions(conn, self._deadline_actions(policy, deadline, now))
        append_timeline(conn, events)

    @staticmethod
    def _deadline_actions(policy: Policy, deadline: Deadline, now: datetime) -> list[DueAction]:
        """Reminders still ahead of us, and the check at the deadline itself (at once when it
        has passed already)."""
        actions = [DueAction(deadline.incident_id, "remind", at, deadline_key=deadline.key)
                   for before in sorted(set(policy.reminders), reverse=True)
                   if (at := deadline.due_at - timedelta(seconds=before)) >= now]
        actions.append(DueAction(deadline.incident_id, "check", max(deadline.due_at, now),
                                 deadline_key=deadline.key))
        return actions

    def _milestone(self, conn: Connection, clock: ClockRow, event: TimelineEvent,
                   now: datetime) -> None:
        kind = event.data.get("kind")
        when = _milestone_time(event)
        events = []
        for deadline in deadlines_of(conn, clock.incident_id):
            if kind in deadline.met_by and deadline.status in ("pending", "missed"):
                met, met_event = _meet(deadline, when, now)
                put_deadline(conn, met)
                cancel_actions(conn, clock.incident_id, deadline_key=deadline.key)
                events.append(met_event)
        policy = Policy.thaw(clock.policy)
        if (kind in ("authoritative_release", "follow_up") and clock.stopped is None
                and clock.level in policy.follow_up.levels):
            events.extend(self._next_follow_up(conn, clock, policy, when, now))
        append_timeline(conn, events)

    def _next_follow_up(self, conn: Connection, clock: ClockRow, policy: Policy,
                        after: datetime, now: datetime) -> list[TimelineEvent]:
        """Keep publishing: the next follow-up is due one cadence after the latest release."""
        existing = [d for d in deadlines_of(conn, clock.incident_id)
                    if d.key.startswith(FOLLOW_UP)]
        if any(d.status == "pending" for d in existing):
            return []
        due = after + timedelta(seconds=policy.follow_up.every)
        deadline = Deadline(clock.incident_id, f"{FOLLOW_UP}{len(existing) + 1}", "后续发布",
                            ("follow_up",), False, due)
        put_deadline(conn, deadline)
        add_actions(conn, self._deadline_actions(policy, deadline, now))
        return [TimelineEvent(clock.incident_id, now, "deadline_set", SYSTEM, {
            "deadline": deadline.key, "label": deadline.label, "due": _iso(due), "hard": False,
            "level": clock.level, "start": _iso(after), "start_rule": "release",
            "reason": "follow_up"})]

    def _stop(self, conn: Connection, clock: ClockRow, why: str, now: datetime) -> None:
        put_clock(conn, replace(clock, stopped=why), new=False)
        cancel_actions(conn, clock.incident_id)
        stopped = [d for d in deadlines_of(conn, clock.incident_id) if d.status == "pending"]
        for deadline in stopped:
            put_deadline(conn, replace(deadline, status="cancelled"))
        append_timeline(conn, [TimelineEvent(clock.incident_id, now, "clocks_stopped", SYSTEM, {
            "reason": why, "deadlines_open": [d.key for d in stopped]})])

    # --- due actions -------------------------------------------------------------------------

    def carry_out(self, conn: Connection, action_id: int, now: datetime) -> bool:
        """Claim the action and do it; False when somebody else already had it."""
        action = claim(conn, action_id, now)
        if action is None:
            return False
        failpoints.hit("response.after_claim")
        clock = get_clock(conn, action.incident_id)
        incident = get_incident(conn, action.incident_id)
        if clock is None or incident is None or clock.stopped is not None:
            return True
        policy = Policy.thaw(clock.policy)
        late = (now - action.due_at).total_seconds() > policy.late_after
        base: dict[str, Any] = {}
        if late:  # the service was down or behind when this fell due
            base.update(late=True, scheduled=_iso(action.due_at),
                        late_by_minutes=round((now - action.due_at).total_seconds() / 60))
        ctx = _Context(conn, self.roster, action, incident.title, clock.level, now, base)
        if action.kind == "escalate":
            self._escalate(ctx, policy, clock, int(action.step or 0))
        elif action.kind in ("remind", "check"):
            deadline = next((d for d in deadlines_of(conn, action.incident_id)
                             if d.key == action.deadline_key), None)
            if deadline is not None and deadline.status == "pending":
                if action.kind == "remind":
                    self._remind(ctx, clock, deadline)
                else:
                    self._check(ctx, policy, clock, deadline)
        ctx.flush()
        failpoints.hit("response.after_outbox")
        return True

    def _escalate(self, ctx: _Context, policy: Policy, clock: ClockRow, step: int) -> None:
        if clock.acknowledged_at is not None:
            return
        ladder = policy.escalation
        while step < len(ladder):
            role = ladder[step].role
            told = ctx.tell(role, "notified" if step == 0 else "escalated",
                            {"step": step, "role": role,
                             "reason": "opened" if step == 0 else "not_acknowledged"})
            if told:
                wait = ladder[step].ack_within
                if wait is not None and step + 1 < len(ladder):
                    add_actions(ctx.conn, [DueAction(clock.incident_id, "escalate",
                                                     ctx.now + timedelta(seconds=wait),
                                                     step=step + 1)])
                return
            step += 1  # nobody to reach: the next step is told at once

    def _remind(self, ctx: _Context, clock: ClockRow, deadline: Deadline) -> None:
        if ctx.now >= deadline.due_at and ctx.action.due_at < deadline.due_at:
            return  # a reminder that comes after its deadline says nothing the check won't
        left = round((deadline.due_at - ctx.action.due_at).total_seconds() / 60)
        data = {"deadline": deadline.key, "label": deadline.label,
                "deadline_due": _iso(deadline.due_at), "minutes_left": left}
        ctx.tell("duty_officer", "reminder", data, also=clock.acknowledged_by)

    def _check(self, ctx: _Context, policy: Policy, clock: ClockRow, deadline: Deadline) -> None:
        put_deadline(ctx.conn, replace(deadline, status="missed", missed_at=ctx.now))
        data = {"deadline": deadline.key, "label": deadline.label,
                "deadline_due": _iso(deadline.due_at), "hard": deadline.hard}
        ctx.tell("duty_officer", "deadline_missed", data, also=clock.acknowledged_by)
        if deadline.hard:
            # a missed hard deadline reaches leadership, acknowledged or not
            for role in policy.hard_miss_to:
                ctx.tell(role, "escalated", {"role": role, "reason": "deadline_missed",
                                             "deadline": deadline.key, "label": deadline.label})


def _meet(deadline: Deadline, when: datetime, now: datetime) -> tuple[Deadline, TimelineEvent]:
    late = max(0.0, (when - deadline.due_at).total_seconds())
    event = TimelineEvent(deadline.incident_id, now, "deadline_met", SYSTEM, {
        "deadline": deadline.key, "label": deadline.label, "due": _iso(deadline.due_at),
        "met_at": _iso(when), "on_time": late == 0, "late_by_minutes": round(late / 60),
        "was_missed": deadline.status == "missed"})
    return replace(deadline, status="met", met_at=when), event


class _Context:
    """One due action being carried out: the events and alerts it produces."""

    def __init__(self, conn: Connection, roster: Roster, action: DueAction, title: str,
                 level: str, now: datetime, base: dict[str, Any]) -> None:
        self.conn, self.roster, self.action = conn, roster, action
        self.title, self.level, self.now, self.base = title, level, now, base
        self.events: list[TimelineEvent] = []
        self.outbox: list[dict[str, Any]] = []

    def tell(self, role: str, kind: str, data: dict[str, Any], also: str | None = None) -> bool:
        """Record the event and queue an alert to whoever holds ``role`` now (and ``also``,
        a person by name, such as whoever acknowledged); False, with a ``no_recipient``
        event, when nobody can be reached."""
        people = [p for p in self.roster.on_duty(role, self.now) if p.channels()]
        extra = [p for p in self.roster.people if also in (p.name, p.id) and p.channels()
                 and p not in people]
        incident = self.action.incident_id
        if not people and not extra:
            self.events.append(TimelineEvent(incident, self.now, "no_recipient", SYSTEM, {
                **self.base, **data, "role": role, "for": kind}))
            return False
        to = [p.name for p in (*people, *extra)]
        self.events.append(TimelineEvent(incident, self.now, kind, SYSTEM,
                                         {**self.base, **data, "to": to}))
        for person in (*people, *extra):
            self.outbox.append({
                "key": f"due:{self.action.id}:{kind}:{role}:{person.id}",
                "incident_id": incident, "created_at": self.now, "kind": kind,
                "person": person.id, "role": role, "channels": person.channels(),
                "data": {**self.base, **data, "title": self.title, "level": self.level},
                "next_attempt_at": self.now})
        return True

    def flush(self) -> None:
        append_timeline(self.conn, self.events)
        add_outbox(self.conn, self.outbox)
