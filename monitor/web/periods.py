"""The periods of the 舆情态势 page and its exports: today so far, the last 7 or 30 days, or
chosen dates, always whole days of Beijing time (so that a day's counts can be kept)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from monitor.clock import SHANGHAI
from monitor.store.situation import Span

PERIODS = {"today": ("今日", 1), "7d": ("近7天", 7), "30d": ("近30天", 30)}
DEFAULT_PERIOD = "7d"
MAX_DAYS = 366
HOURLY_DAYS = 2  # up to two days the trend is by hour, beyond by day


class PeriodError(ValueError):
    """A period that cannot be shown; the message is for the user, in Chinese."""


@dataclass(frozen=True)
class Period:
    key: str  # today, 7d, 30d or custom
    first: date
    last: date  # inclusive

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    @property
    def hourly(self) -> bool:
        return len(self.days) <= HOURLY_DAYS

    @property
    def span(self) -> Span:
        return day_span(self.first)[0], day_span(self.last)[1]

    @property
    def label(self) -> str:
        name = PERIODS[self.key][0] if self.key in PERIODS else "自定义"
        if self.first == self.last:
            return f"{name}（{self.first}）"
        return f"{name}（{self.first} 至 {self.last}）"

    def query(self) -> str:
        """The query string that asks for this period again."""
        if self.key in PERIODS:
            return f"period={self.key}"
        return f"period=custom&from={self.first}&to={self.last}"


def day_span(day: date) -> Span:
    start = datetime.combine(day, time(), SHANGHAI)
    return start, start + timedelta(days=1)


def parse_period(query: Mapping[str, str], today: date) -> Period:
    """today / 7d / 30d up to today, or custom from and to (Beijing dates, inclusive)."""
    key = query.get("period", "") or ("custom" if "from" in query or "to" in query
                                      else DEFAULT_PERIOD)
    if key in PERIODS:
        return Period(key, today - timedelta(days=PERIODS[key][1] - 1), today)
    if key != "custom":
        raise PeriodError("期间应为 today（今日）、7d（近7天）、30d（近30天）或 custom（自定义）")
    try:
        first = date.fromisoformat(query.get("from", ""))
        last = date.fromisoformat(query.get("to", ""))
    except ValueError:
        raise PeriodError("请填写正确的起止日期，格式如 2026-03-02") from None
    if last < first:
        raise PeriodError("止日期不能早于起日期")
    if first > today:
        raise PeriodError("起日期不能晚于今天")
    last = min(last, today)  # nothing is collected in days to come
    if (last - first).days + 1 > MAX_DAYS:
        raise PeriodError(f"期间最长{MAX_DAYS}天")
    return Period("custom", first, last)
