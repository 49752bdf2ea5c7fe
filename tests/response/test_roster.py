"""The duty roster: rotations, overrides, people without channels, and an escalation step
with nobody to reach."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from monitor.clock import SHANGHAI
from monitor.errors import ConfigError
from monitor.response.roster import Roster, load_roster
from tests.incidents.conftest import Replay
from tests.response.test_clocks_replay import at, dispute, end, of

ROSTER = """
people:
  - {id: a, name: 甲, wecom: A}
  - {id: b, name: 乙, email: b@wjw.example.org}
  - {id: c, name: 丙, phone: "13800000003"}
  - {id: silent, name: 无联系方式}
  - {id: lead, name: 带班, wecom: L}
roles:
  duty_officer:
    rotation: {start: "2026-03-01T08:30:00", shift: 24h, people: [a, b, c]}
  duty_lead: {people: [lead]}
  leader_in_charge: {people: [lead]}
  principal_leader: {people: [lead]}
overrides:
  - {role: duty_officer, person: c, from: "2026-03-02T12:00:00", to: "2026-03-02T14:00:00",
     reason: 调班}
"""


def roster(tmp_path: Path, text: str = ROSTER) -> Roster:
    path = tmp_path / "roster.yaml"
    path.write_text(text, encoding="utf-8")
    return load_roster(path)


def beijing(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI)


def test_rotation_hands_over_at_the_shift_change_and_overrides_win(tmp_path: Path) -> None:
    r = roster(tmp_path)
    duty = [(when, [p.id for p in r.on_duty("duty_officer", when)]) for when in (
        beijing(1, 8, 29), beijing(1, 8, 30), beijing(2, 8, 29), beijing(2, 8, 30),
        beijing(2, 12, 0), beijing(2, 13, 59), beijing(2, 14, 0), beijing(4, 9, 0))]
    assert [ids for _, ids in duty] == [["c"], ["a"], ["a"], ["b"], ["c"], ["c"], ["b"], ["a"]]
    assert r.on_duty("nobody", beijing(2, 9)) == []


def test_unknown_person_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        roster(tmp_path, ROSTER.replace("people: [lead]}\n  leader", "people: [ghost]}\n  leader"))
    assert "ghost" in str(err.value)
    assert "roster.yaml" in str(err.value)


async def test_a_step_with_nobody_to_reach_is_recorded_and_the_next_step_told(
        tmp_path: Path, run_replay: Replay) -> None:
    # the incident opens at 08:24 on 2 March, in the shift that began on 1 March: that
    # shift's duty officer has no channel
    text = ROSTER.replace("people: [a, b, c]}", "people: [silent, b, c]}")
    events = await run_replay([*dispute(), end(1)], roster=roster(tmp_path, text))
    opened = at(of(events, "opened")[0])
    missing = of(events, "no_recipient")
    assert [(e["role"], e["step"], at(e)) for e in missing] == [("duty_officer", 0, opened)]
    told = of(events, "escalated", step=1)
    assert [(e["role"], e["to"], at(e)) for e in told] == [("duty_lead", ["带班"], opened)]
    assert (at(of(events, "escalated", step=2)[0]) - opened) == timedelta(minutes=15)
