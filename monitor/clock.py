"""The one clock every component reads: wall time in Asia/Shanghai, or simulated time."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware datetime."""

    async def sleep(self, seconds: float) -> None: ...


class WallClock:
    def now(self) -> datetime:
        return datetime.now(SHANGHAI)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class SimClock:
    """Simulated time: ``sleep`` moves the clock forward at once, so a day runs in milliseconds."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("SimClock needs an aware start time")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)


def utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)


class AcceleratedClock:
    """Wall time sped up ``speed`` times from ``start``: the demo lives 48 hours in minutes,
    with every component running as in production."""

    def __init__(self, start: datetime, speed: float) -> None:
        if start.tzinfo is None or speed <= 0:
            raise ValueError("AcceleratedClock needs an aware start and a positive speed")
        self._start = start
        self._origin = time.monotonic()
        self.speed = speed

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(time.monotonic() - self._origin) * self.speed)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)


def local_minute(at: datetime | None) -> str:
    """Month, day and minute in Beijing time, as pages and tables show it; "—" for none."""
    return at.astimezone(SHANGHAI).strftime("%m-%d %H:%M") if at else "—"
