"""alerts/routing.yaml: which channels carry which alert, and the fallbacks."""

from __future__ import annotations

import difflib
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from monitor.clock import SHANGHAI
from monitor.config import PROJECT_DIR, line_of, read_yaml, validate
from monitor.errors import ConfigError
from monitor.incidents.settings import LEVELS, Level
from monitor.notify.settings import ChannelsFile
from monitor.records import Incident
from monitor.response.policy import Role

ROUTING_PATH = PROJECT_DIR / "alerts" / "routing.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Match(_Strict):
    levels: list[Level] | None = None
    kinds: list[str] | None = None
    roles: list[Role] | None = None
    topics: list[str] | None = None
    regions: list[str] | None = None
    plans: list[str] | None = None  # watch plans any item of the incident hit


class Rule(_Strict):
    name: str
    match: Match = Field(default_factory=Match)
    channels: list[str] = Field(min_length=1)


class QuietHours(_Strict):
    """Low-level alerts wait for the morning on these channels; levels I and II never wait."""

    start: time = Field(alias="from")
    end: time = Field(alias="to")
    levels: list[Level] = Field(default_factory=lambda: list(LEVELS[2:]))
    channels: list[str] = Field(default_factory=list)  # empty: every channel

    @model_validator(mode="after")
    def _never_major(self) -> QuietHours:
        if {"I", "II"} & set(self.levels):
            raise ValueError("quiet hours never hold levels I and II; list only III and IV")
        return self

    def release(self, level: object, channel: str, now: datetime) -> datetime | None:
        """When an alert held by quiet hours may go, or None when it may go now."""
        if level not in self.levels or (self.channels and channel not in self.channels):
            return None
        local = now.astimezone(SHANGHAI)
        at = local.time()
        inside = (self.start <= at or at < self.end) if self.start > self.end else \
            self.start <= at < self.end
        if not inside:
            return None
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0,
                            microsecond=0)
        return end if end > local else end + timedelta(days=1)


class Routing(_Strict):
    rules: list[Rule] = Field(min_length=1)
    fallback_after: int = Field(default=3, ge=1)
    fallback: dict[str, str] = Field(default_factory=dict)
    quiet_hours: QuietHours | None = None

    def channels(self, row: dict[str, Any], incident: Incident | None,
                 plans: set[str] | frozenset[str] = frozenset()) -> list[str]:
        """The channels of the first rule that matches the outbox row (``plans``: the watch
        plans the incident's items hit)."""
        level = row["data"].get("level")
        for rule in self.rules:
            m = rule.match
            if ((m.levels is None or level in m.levels)
                    and (m.kinds is None or row["kind"] in m.kinds)
                    and (m.roles is None or row["role"] in m.roles)
                    and (m.topics is None or (incident is not None
                                              and set(m.topics) & set(incident.topics)))
                    and (m.regions is None or (incident is not None
                                               and incident.region in m.regions))
                    and (m.plans is None or bool(set(m.plans) & plans))):
                return list(rule.channels)
        return []


def load_routing(path: Path = ROUTING_PATH, channels: ChannelsFile | None = None,
                 channels_path: Path | None = None) -> Routing:
    """Read the routing rules; with ``channels``, refuse (file:line) any channel they name
    that the channels file does not have: an alert routed by a typo would reach nobody."""
    doc = read_yaml(path)
    routing = validate(path, Routing, doc)
    if channels is None:
        return routing
    known = [c.name for c in channels.channels]
    named: list[tuple[str, tuple[str | int, ...]]] = [
        (name, ("rules", i, "channels", j))
        for i, rule in enumerate(routing.rules) for j, name in enumerate(rule.channels)]
    named += [(key, ("fallback", key)) for key in routing.fallback]
    named += [(value, ("fallback", key)) for key, value in routing.fallback.items()]
    if routing.quiet_hours is not None:
        named += [(name, ("quiet_hours", "channels", j))
                  for j, name in enumerate(routing.quiet_hours.channels)]
    faults = []
    for name, loc in named:
        if name not in known:
            guess = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {guess[0]!r}?" if guess else ""
            faults.append(f"{path}:{line_of(doc.node, loc)}: channel {name!r} is not in "
                          f"{channels_path or 'the channels file'}{hint} (channels: "
                          f"{', '.join(known) or 'none'})")
    if faults:
        raise ConfigError("\n".join(dict.fromkeys(faults)))
    return routing
