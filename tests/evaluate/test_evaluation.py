"""The evaluation of a replayed incident with known times, figure by figure."""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor.clock import SHANGHAI
from monitor.evaluate.evaluation import evaluate
from monitor.records import TimelineEvent
from monitor.store.incidents import incident_item_rows, timeline_of
from tests.evaluate.conftest import FIRST, OPENED, Replayed, dispute
from tests.incidents.conftest import DISPUTE, START, action, item


async def test_every_figure_to_the_minute(replayed: Replayed) -> None:
    store = await replayed(dispute(
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
    ))
    events = store.transaction(lambda c: timeline_of(c, 1))
    items = store.transaction(lambda c: incident_item_rows(c, 1))
    ev = evaluate(1, events, items, now=START + timedelta(hours=27))
    opened = START + timedelta(minutes=OPENED)
    assert ev.first_item_at == START
    assert ev.detection_lag_minutes == OPENED
    assert ev.ack_latency_minutes == 10
    assert ev.release_at == opened + timedelta(minutes=160)
    deadlines = {d.key: (d.due - opened, d.state, d.late_minutes) for d in ev.deadlines}
    assert deadlines == {
        "internal_report": (timedelta(hours=2), "met", 0),
        "release_target": (timedelta(hours=3), "met", 0),
        "release": (timedelta(hours=5), "met", 0),
        "press_conference": (timedelta(hours=24), "missed", None),
        # the follow-up came 21 h 50 min after the release, inside its 24 h; the next one is
        # still running at 27 h, so it counts neither way
        "follow_up_1": (timedelta(minutes=160, hours=24), "met", 0),
        "follow_up_2": (timedelta(minutes=30, hours=48), "pending", None),
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
    assert not ev.reflared  # two posts after the release are no second wave
    # 40 × 4 of the 5 due on time, 30 × (1 − 1/3), the negativity part, 10 without re-flare
    assert ev.score_parts["deadlines_on_time"] == 32.0
    assert ev.score_parts["volume_declined"] == 20.1
    assert ev.score_parts["negativity_fell"] == 0.0  # the later posts are as angry
    assert ev.score_parts["no_reflare"] == 10.0
    assert ev.score == round(sum(ev.score_parts.values()), 1)


RELEASE = datetime(2026, 3, 2, 12, 10, tzinfo=SHANGHAI)


def _hours(*counts: int) -> list[dict[str, object]]:
    """Items hour by hour from the release's hour, ``counts[n]`` in hour n."""
    start = RELEASE.replace(minute=0)
    return [{"at": start + timedelta(hours=n, minutes=5 + k), "negative": 0.5}
            for n, count in enumerate(counts) for k in range(count)]


def _released(items: list[dict[str, object]], extra: tuple[TimelineEvent, ...] = ()) -> bool:
    events = [TimelineEvent(1, RELEASE - timedelta(hours=3), "opened", "system"),
              TimelineEvent(1, RELEASE, "milestone_recorded", "值班员甲",
                            {"kind": "authoritative_release", "url": "https://wjw.example/1"}),
              *extra]
    return evaluate(1, events, items, now=RELEASE + timedelta(days=2)).reflared


def test_a_second_wave_after_calm_is_a_reflare() -> None:
    # the reaction peaks at 8 in the second hour, calms to 2, and comes back to 9
    assert _released(_hours(4, 8, 3, 2, 0, 5, 9, 2))
    # a gap of silent hours is calm too
    assert _released(_hours(6, 0, 0, 0, 7))


def test_a_slow_decline_or_a_few_late_posts_are_not() -> None:
    assert not _released(_hours(4, 8, 6, 5, 3, 2, 1))
    assert not _released(_hours(8, 6, 3, 2, 5, 6, 2))  # back up, but not to the peak
    assert not _released(_hours(2, 0, 0, 2))  # two posts are no wave
    assert not _released([])


def test_resurfacing_after_the_release_is_a_reflare_but_not_before() -> None:
    later = TimelineEvent(1, RELEASE + timedelta(hours=20), "resurfaced", "system")
    earlier = TimelineEvent(1, RELEASE - timedelta(hours=1), "resurfaced", "system")
    assert _released(_hours(3, 1), (later,))
    assert not _released(_hours(3, 1), (earlier,))
