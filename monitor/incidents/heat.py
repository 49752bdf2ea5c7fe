"""Heat and proposed level: numbers a duty officer can check.

heat = decayed volume (Σ source weight × 2^(−age / half-life))
       × (1 + negative share) × (1 + 0.1 × (distinct sources − 1)) × velocity factor
velocity factor = 1 + log2(max(1, items in the last hour / the topic's baseline per hour))

Items are placed in time by when they were published, when that is earlier than when they were
fetched: a collector that comes back after an outage and back-fills a day of posts adds them to
the hours they belong to, not to the current hour, so it does not look like a burst.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from dataclasses import dataclass, field

from monitor.incidents.settings import Heat, LevelRule

HOUR = 3600.0


class Baselines:
    """Relevant items per hour for each topic, as a slowly moving average over closed hours.
    Until ``warm_up`` seconds of history have been seen the baseline is not trusted and the
    velocity factor stays 1."""

    def __init__(self, settings: Heat) -> None:
        self.settings = settings
        self._hours: dict[str, dict[int, int]] = defaultdict(dict)
        self._rate: dict[str, float] = {}
        self._closed_until: int | None = None  # first hour not yet folded into the averages
        self._first: float | None = None

    def count(self, topics: tuple[str, ...], at: float) -> None:
        hour = int(at // HOUR)
        if self._first is None or at < self._first:
            self._first = at
        for topic in topics or ("",):
            bucket = self._hours[topic]
            bucket[hour] = bucket.get(hour, 0) + 1

    def advance(self, now: float) -> None:
        """Fold every hour that has ended into the averages (α = 1/24)."""
        current = int(now // HOUR)
        if self._closed_until is None:
            self._closed_until = current
            return
        for hour in range(self._closed_until, current):
            for topic, bucket in self._hours.items():
                seen = bucket.pop(hour, 0)
                rate = self._rate.get(topic)
                self._rate[topic] = seen if rate is None else rate + (seen - rate) / 24
            # hours older than a day are never read again
            for bucket in self._hours.values():
                for old in [h for h in bucket if h < hour - 24]:
                    del bucket[old]
        self._closed_until = max(self._closed_until, current)

    def per_hour(self, topic: str, now: float) -> float | None:
        """The baseline, or None while warming up."""
        if self._first is None or now - self._first < self.settings.baseline_warm_up:
            return None
        return max(self.settings.baseline_floor, self._rate.get(topic, 0.0))


@dataclass
class HeatState:
    """Running figures of one cluster, updated item by item."""

    decayed: float = 0.0  # Σ weight × 2^(−age / half-life) as of `at`
    at: float = 0.0
    items: int = 0
    negative_sum: float = 0.0
    sources: set[str] = field(default_factory=set)
    recent: deque[float] = field(default_factory=deque)  # event times within the last hour

    def add(self, at: float, weight: float, negative: float, source: str,
            half_life: float) -> None:
        self.decay_to(max(at, self.at), half_life)
        self.decayed += weight * 2 ** (-(self.at - at) / half_life)
        self.items += 1
        self.negative_sum += negative
        self.sources.add(source)
        self.recent.append(at)

    def absorb(self, other: HeatState, half_life: float) -> None:
        """Add another cluster's figures (two clusters merging)."""
        now = max(self.at, other.at)
        self.decay_to(now, half_life)
        other.decay_to(now, half_life)
        self.decayed += other.decayed
        self.items += other.items
        self.negative_sum += other.negative_sum
        self.sources |= other.sources
        self.recent = deque(sorted([*self.recent, *other.recent]))

    def decay_to(self, now: float, half_life: float) -> None:
        if now > self.at:
            self.decayed *= 2 ** (-(now - self.at) / half_life)
            self.at = now
        while self.recent and self.recent[0] < now - HOUR:
            self.recent.popleft()

    @property
    def negative_share(self) -> float:
        return self.negative_sum / self.items if self.items else 0.0


@dataclass(frozen=True)
class Reading:
    heat: float
    last_hour: int
    velocity: float  # last hour ÷ baseline; 1 while the baseline warms up
    level: str | None
    # the figures the reasons quote, unrounded: most readings are compared and dropped, so
    # the sentence is written only when asked for
    items: int = 0
    sources: int = 0
    negative_share: float = 0.0
    exact_heat: float = 0.0
    exact_velocity: float | None = None  # None while the baseline warms up

    @property
    def reasons(self) -> str:
        pace = (f"{self.exact_velocity:.1f}× the baseline" if self.exact_velocity is not None
                else "baseline warming up")
        return (f"{self.items} items from {self.sources} sources, {self.last_hour} in the last "
                f"hour ({pace}), {self.negative_share:.0%} negative, heat {self.exact_heat:.0f}")


def read(state: HeatState, baseline: float | None, rules: list[LevelRule]) -> Reading:
    """``rules``: the levels, highest heat first (as the settings keep them)."""
    heat, velocity, level = _figures(state, baseline, rules)
    return Reading(round(heat, 1), len(state.recent), round(velocity, 2), level, state.items,
                   len(state.sources), state.negative_share, heat,
                   velocity if baseline else None)


def glance(state: HeatState, baseline: float | None, rules: list[LevelRule]
           ) -> tuple[float, str | None]:
    """The heat and level ``read`` would give, without the rest of a reading: a tick looks at
    every live incident and records few of them."""
    heat, _, level = _figures(state, baseline, rules)
    return round(heat, 1), level


def _figures(state: HeatState, baseline: float | None, rules: list[LevelRule]
             ) -> tuple[float, float, str | None]:
    velocity = len(state.recent) / baseline if baseline else 1.0
    factor = 1 + math.log2(max(1.0, velocity))
    sources = len(state.sources)
    heat = state.decayed * (1 + state.negative_share) * (1 + 0.1 * (sources - 1)) * factor
    level = next((r.level for r in rules if heat >= r.heat and sources >= r.sources), None)
    return heat, velocity, level
