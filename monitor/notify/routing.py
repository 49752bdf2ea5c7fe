"""alerts/routing.yaml: which channels carry which alert, and the fallbacks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from monitor.config import PROJECT_DIR, read_yaml, validate
from monitor.incidents.settings import Level
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


class Rule(_Strict):
    name: str
    match: Match = Field(default_factory=Match)
    channels: list[str] = Field(min_length=1)


class Routing(_Strict):
    rules: list[Rule] = Field(min_length=1)
    fallback_after: int = Field(default=3, ge=1)
    fallback: dict[str, str] = Field(default_factory=dict)

    def channels(self, row: dict[str, Any], incident: Incident | None) -> list[str]:
        """The channels of the first rule that matches the outbox row."""
        level = row["data"].get("level")
        for rule in self.rules:
            m = rule.match
            if ((m.levels is None or level in m.levels)
                    and (m.kinds is None or row["kind"] in m.kinds)
                    and (m.roles is None or row["role"] in m.roles)
                    and (m.topics is None or (incident is not None
                                              and set(m.topics) & set(incident.topics)))
                    and (m.regions is None or (incident is not None
                                               and incident.region in m.regions))):
                return list(rule.channels)
        return []


def load_routing(path: Path = ROUTING_PATH) -> Routing:
    return validate(path, Routing, read_yaml(path))
