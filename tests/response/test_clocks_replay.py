"""The response clocks on the simulated clock, through the replay: reminders, escalation,
misses, acknowledgement, milestones and level changes, each at its configured time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from monitor.response.policy import load_policy
from tests.incidents.conftest import DISPUTE, START, Replay, action, item

FIRST = "https://d.example/0"


def dispute() -> list[dict[str, Any]]:
    return [item(i * 6, source, f"https://d.example/{i}", title, text)
            for i, (source, title, text) in enumerate(DISPUTE)]


def end(hours: float) -> dict[str, Any]:
    return {"type": "end", "at": (START + timedelta(hours=hours)).isoformat()}


def at(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["at"])


def of(events: list[dict[str, Any]], kind: str, **match: object) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == kind
            and all(e.get(k) == v for k, v in match.items())]


def minutes_after(events: list[dict[str, Any]], start: datetime, kind: str,
                  **match: object) -> list[float]:
    return [(at(e) - start).total_seconds() / 60 for e in of(events, kind, **match)]


async def test_level_ii_without_response_reminds_escalates_and_misses(
        run_replay: Replay) -> None:
    events = await run_replay([*dispute(), action(31, "confirm", FIRST, level="II"), end(26)])
    opened = at(of(events, "opened")[0])
    # the policy: 3 h target, 5 h hard deadline, 24 h press conference, 2 h internal report
    due = {e["deadline"]: (datetime.fromisoformat(e["due"]) - opened).total_seconds() / 3600
           for e in of(events, "deadline_set", level="II")}
    assert due == {"release_target": 3, "release": 5, "press_conference": 24,
                   "internal_report": 2}
    assert [e["deadline"] for e in of(events, "deadline_cancelled")] == ["response"]
    for key, hours in due.items():
        assert minutes_after(events, opened, "reminder", deadline=key) == [
            hours * 60 - 60, hours * 60 - 30, hours * 60], key
        assert minutes_after(events, opened, "deadline_missed", deadline=key) == [hours * 60]
    # nobody acknowledges: duty officer at once, then duty lead, leader in charge, principal
    assert minutes_after(events, opened, "notified") == [0]
    ladder = [(e["step"], e["role"], (at(e) - opened).total_seconds() / 60)
              for e in of(events, "escalated", reason="not_acknowledged")]
    assert ladder == [(1, "duty_lead", 15), (2, "leader_in_charge", 30),
                      (3, "principal_leader", 60)]
    # the missed 5 h deadline goes to leadership as well
    hard = of(events, "escalated", reason="deadline_missed")
    assert {e["role"] for e in hard} == {"leader_in_charge", "principal_leader"}
    assert {minutes_after(events, opened, "escalated", reason="deadline_missed")[0]} == {300}
    assert all(e["to"] for e in of(events, "reminder") + of(events, "escalated"))


async def test_acknowledged_and_released_in_time_meets_everything_and_escalates_nothing(
        run_replay: Replay) -> None:
    opened_at = 24  # the fifth item of the dispute opens the incident (minute 24)
    events = await run_replay([
        *dispute(),
        action(opened_at + 10, "ack", FIRST),
        action(opened_at + 11, "confirm", FIRST, level="II"),
        action(opened_at + 90, "milestone", FIRST, kind="internal_report",
               document="凤卫健〔2026〕12号"),
        action(opened_at + 160, "milestone", FIRST, kind="authoritative_release",
               url="https://wjw.example/notice/1", channel="官方微博", spokesperson="新闻发言人"),
        action(opened_at + 20 * 60, "milestone", FIRST, kind="press_conference",
               url="https://wjw.example/press/1", spokesperson="主要负责同志"),
        end(26),
    ])
    opened = at(of(events, "opened")[0])
    assert opened == START + timedelta(minutes=opened_at)
    assert of(events, "escalated") == []
    assert of(events, "deadline_missed") == []
    met = {e["deadline"]: e for e in of(events, "deadline_met")}
    assert set(met) == {"internal_report", "release_target", "release", "press_conference"}
    assert all(e["on_time"] and e["late_by_minutes"] == 0 for e in met.values())
    assert met["release"]["met_at"] == (opened + timedelta(minutes=160)).isoformat()
    # reminders stop once a deadline is met: the 3 h target got its 60- and 30-minute ones
    assert minutes_after(events, opened, "reminder", deadline="release_target") == [120, 150]
    # a release starts the follow-up cadence of levels I and II
    follow = of(events, "deadline_set", deadline="follow_up_1")
    assert [datetime.fromisoformat(e["due"]) - opened for e in follow] == [
        timedelta(minutes=160, hours=24)]


async def test_level_iv_runs_the_48_hour_clock(run_replay: Replay) -> None:
    events = await run_replay([*dispute(), end(50)])
    opened = at(of(events, "opened")[0])
    assert [e["deadline"] for e in of(events, "deadline_set")] == ["response"]
    assert minutes_after(events, opened, "reminder", deadline="response") == [
        48 * 60 - 60, 48 * 60 - 30, 48 * 60]
    assert minutes_after(events, opened, "deadline_missed") == [48 * 60]


async def test_a_level_change_replans_from_the_same_start(run_replay: Replay) -> None:
    opened_at = 24
    events = await run_replay([
        *dispute(),
        action(opened_at + 60, "confirm", FIRST, level="II"),  # upgrade after an hour
        action(opened_at + 100, "milestone", FIRST, kind="authoritative_release",
               url="https://wjw.example/notice/1"),
        action(opened_at + 180, "confirm", FIRST, level="III"),  # and down again
        end(50),
    ])
    opened = at(of(events, "opened")[0])
    sets = [(e["deadline"], (datetime.fromisoformat(e["due"]) - opened).total_seconds() / 3600,
             (at(e) - opened).total_seconds() / 60) for e in of(events, "deadline_set")]
    assert sets[:5] == [("response", 48, 0), ("release_target", 3, 60), ("release", 5, 60),
                        ("press_conference", 24, 60), ("internal_report", 2, 60)]
    # level III: the 48 h response is back, met at once by the release already recorded; the
    # internal report stays; the release and press-conference clocks are cancelled
    assert ("response", 48, 180) in sets
    cancelled = [(e["deadline"], (at(e) - opened).total_seconds() / 60)
                 for e in of(events, "deadline_cancelled")]
    assert cancelled == [("response", 60), ("press_conference", 180), ("follow_up_1", 180)]
    met = [(e["deadline"], (at(e) - opened).total_seconds() / 60)
           for e in of(events, "deadline_met")]
    assert met == [("release_target", 100), ("release", 100), ("response", 180)]
    assert minutes_after(events, opened, "deadline_missed") == [120]  # the internal report
    assert of(events, "deadline_missed", deadline="press_conference") == []


async def test_late_milestone_is_met_late_and_says_by_how_much(run_replay: Replay) -> None:
    events = await run_replay([
        *dispute(),
        action(31, "confirm", FIRST, level="II"),
        action(24 + 6 * 60, "milestone", FIRST, kind="authoritative_release",
               url="https://wjw.example/notice/1"),
        end(7),
    ])
    met = {e["deadline"]: e for e in of(events, "deadline_met")}
    assert met["release"]["on_time"] is False
    assert met["release"]["late_by_minutes"] == 60
    assert met["release"]["was_missed"] is True
    assert met["release_target"]["late_by_minutes"] == 180


async def test_dismissing_stops_the_clocks(run_replay: Replay) -> None:
    events = await run_replay([*dispute(), action(30, "dismiss", FIRST), end(50)])
    stopped = of(events, "clocks_stopped")
    assert [e["reason"] for e in stopped] == ["dismissed"]
    assert stopped[0]["deadlines_open"] == ["response"]
    assert of(events, "reminder") == []
    assert of(events, "deadline_missed") == []


async def test_milestone_without_evidence_is_refused(run_replay: Replay) -> None:
    events = await run_replay([
        *dispute(),
        action(30, "milestone", FIRST, kind="authoritative_release"),
    ])
    assert of(events, "milestone_recorded") == []
    assert "evidence" in events[-1]["errors"][0]


async def test_clocks_can_start_when_the_event_happened(run_replay: Replay) -> None:
    policy = load_policy().model_copy(update={"clock_start": "occurred"})
    events = await run_replay([
        *dispute(),
        action(31, "confirm", FIRST, level="II"),
        # the duty officer learns the collapse happened at 07:00, before any post
        action(40, "occurred", FIRST, time=(START - timedelta(hours=1)).isoformat()),
        end(6),
    ], policy=policy)
    occurred = START - timedelta(hours=1)
    moved = [(e["deadline"], datetime.fromisoformat(e["due"]) - occurred)
             for e in of(events, "deadline_set", reason="occurred_set")]
    assert moved == [("release_target", timedelta(hours=3)), ("release", timedelta(hours=5)),
                     ("press_conference", timedelta(hours=24)),
                     ("internal_report", timedelta(hours=2))]
    missed = {e["deadline"]: at(e) for e in of(events, "deadline_missed")}
    assert missed["release"] == occurred + timedelta(hours=5)


async def test_a_backdated_milestone_is_marked_and_a_future_one_refused(
        run_replay: Replay) -> None:
    when = (START + timedelta(minutes=60)).isoformat()
    events = await run_replay([
        *dispute(),
        action(31, "confirm", FIRST, level="II"),
        # recorded at 20 h for a release said to have gone out at the first hour
        action(20 * 60, "milestone", FIRST, kind="authoritative_release",
               url="https://wjw.example/notice/1", time=when),
        action(20 * 60 + 5, "milestone", FIRST, kind="follow_up",
               url="https://wjw.example/notice/2",
               time=(START + timedelta(hours=30)).isoformat()),
        end(21),
    ])
    [recorded] = of(events, "milestone_recorded")
    assert recorded["backdated"] is True
    assert recorded["time"] == when
    assert recorded["actor"] == "值班员甲"
    assert any("is in the future" in e for e in events[-1]["errors"])
