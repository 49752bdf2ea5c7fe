"""A deadline the level no longer carries, once missed, stays missed: a later level change
neither cancels it nor lets a late release count as on time."""

from __future__ import annotations

from datetime import timedelta

from monitor.evaluate.evaluation import evaluate
from monitor.store.incidents import incident_item_rows, timeline_of
from monitor.store.response import deadlines_of
from tests.evaluate.conftest import FIRST, OPENED, Replayed, dispute
from tests.incidents.conftest import START, action


async def test_missed_iii_deadline_survives_confirmation_as_ii(replayed: Replayed) -> None:
    store = await replayed(dispute(
        action(OPENED + 10, "ack", FIRST),
        action(OPENED + 11, "confirm", FIRST, level="III"),
        action(OPENED + 11, "milestone", FIRST, kind="internal_report", document="凤卫〔2026〕1号"),
        # the 48 h response is missed; two hours later the level is raised to II
        action(OPENED + 50 * 60, "confirm", FIRST, level="II"),
        action(OPENED + 51 * 60, "milestone", FIRST, kind="authoritative_release",
               url="https://wjw.example/1"),
        end_hours=60))
    events = store.transaction(lambda c: timeline_of(c, 1))
    cancelled = [e.data["deadline"] for e in events if e.type == "deadline_cancelled"]
    assert "response" not in cancelled
    stored = {d.key: d for d in store.transaction(lambda c: deadlines_of(c, 1))}
    assert stored["response"].missed_at == START + timedelta(minutes=OPENED, hours=48)
    items = store.transaction(lambda c: incident_item_rows(c, 1))
    ev = evaluate(1, events, items, now=START + timedelta(hours=60))
    states = {d.key: (d.state, d.late_minutes) for d in ev.deadlines}
    assert states["response"] == ("late", 180)  # released 51 h in, due at 48 h
    # the II deadlines run from detection too, so they were missed long before they were set
    assert states["release"] == ("late", 46 * 60)
    assert states["press_conference"] == ("missed", None)
    assert states["internal_report"] == ("met", 0)
    due = [d for d in ev.deadlines if not d.pending]
    assert ev.score_parts["deadlines_on_time"] == round(40 * 1 / len(due), 1)
