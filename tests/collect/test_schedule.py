from __future__ import annotations

import pytest

from monitor.collect.schedule import after_failure, after_success

MIN, MAX = 900, 86400


@pytest.mark.parametrize(("entries", "hints", "expected"), [
    (0, (), MAX),  # silent for a week: once a day
    (7, (), MAX),  # one a day: a day
    (168, (), 3600),  # one an hour: an hour
    (10_000, (), MIN),  # busy: the source's own floor
    (10_000, (3600,), 3600),  # the feed's ttl or Cache-Control is a floor
    (10_000, (None, 1200), 1200),
    (168, (10 * 86400,), MAX),  # a silly hint is capped at the ceiling
])
def test_after_success(entries: int, hints: tuple[int | None, ...], expected: int) -> None:
    assert after_success(MIN, MAX, entries, hints) == expected


@pytest.mark.parametrize(("failures", "retry_after", "expected"), [
    (1, None, 2 * MIN),
    (2, None, 3 * MIN),
    (500, None, MAX),  # slowed down, never disabled
    (1, 7200.0, 7200),  # Retry-After wins when longer
    (1, 10.0, 2 * MIN),
    (1, 10 * 86400.0, MAX),
])
def test_after_failure(failures: int, retry_after: float | None, expected: int) -> None:
    assert after_failure(MIN, MAX, failures, retry_after) == expected
