"""When to poll a source next. Pure functions of counts and hints."""

from __future__ import annotations

WEEK_S = 7 * 24 * 3600


def after_success(min_s: int, max_s: int, entries_last_week: int,
                  hints_s: tuple[int | None, ...] = ()) -> int:
    """Miniflux's rule: a week divided by last week's entries, clamped to [min_s, max_s], and
    never sooner than the feed's ttl, Cache-Control or Expires asks (up to max_s)."""
    base = max_s if entries_last_week <= 0 else WEEK_S // entries_last_week
    interval = min(max(base, min_s), max_s)
    floor = max((h for h in hints_s if h), default=0)
    return max(interval, min(floor, max_s))


def after_failure(min_s: int, max_s: int, consecutive_failures: int,
                  retry_after_s: float | None = None) -> int:
    """Linear back-off (Media Cloud): one more base interval per failure in a row, up to
    max_s; never sooner than Retry-After. Never disabled: feeds come back from the dead."""
    interval = min(min_s * (1 + max(consecutive_failures, 0)), max_s)
    if retry_after_s:
        interval = max(interval, min(int(retry_after_s), max_s))
    return interval
