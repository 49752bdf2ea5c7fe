"""A long replay says how far it has read, every so many seconds."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

from monitor.incidents.replay import with_progress


def test_progress_is_said_every_interval_with_the_share_of_the_file() -> None:
    ticks = count(0, 4)  # each look at the clock finds it 4 s later
    said: list[str] = []
    lines = [f"line {n}\n" for n in range(10)]  # 7 bytes each
    scenario_time = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)

    passed = list(with_progress(lines, said.append, lambda: scenario_time, size=70,
                                every_s=10, monotonic=lambda: float(next(ticks))))

    assert passed == lines  # nothing is lost or reordered
    # the clock reads 0 at the start, then 4, 8, 12 … after each line: 12 s after line 3,
    # 24 s after line 6, 36 s after line 9
    assert said == [
        "replay: 3 lines read (30% of the file), scenario time 2026-03-02 09:30, 0 lines/s",
        "replay: 6 lines read (60% of the file), scenario time 2026-03-02 09:30, 0 lines/s",
        "replay: 9 lines read (90% of the file), scenario time 2026-03-02 09:30, 0 lines/s",
    ]


def test_without_a_file_size_progress_names_no_share() -> None:
    ticks = count()  # a millisecond per look at the clock
    said: list[str] = []
    at = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
    list(with_progress(["a\n"] * 25_000, said.append, lambda: at,
                       monotonic=lambda: next(ticks) / 1000))
    assert said == [
        "replay: 10,000 lines read, scenario time 2026-03-02 09:30, 1,000 lines/s",
        "replay: 20,000 lines read, scenario time 2026-03-02 09:30, 1,000 lines/s",
    ]
