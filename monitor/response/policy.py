"""alerts/policy.yaml: deadlines by level, when clocks start, reminders and the escalation
ladder. A copy is frozen onto each incident when its clocks start (``Policy.freeze``)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from monitor.config import PROJECT_DIR, Duration, read_yaml, validate
from monitor.incidents.settings import LEVELS, Level

POLICY_PATH = PROJECT_DIR / "alerts" / "policy.yaml"
Milestone = Literal["authoritative_release", "press_conference", "follow_up", "internal_report"]
MILESTONES: tuple[Milestone, ...] = ("authoritative_release", "press_conference", "follow_up",
                                     "internal_report")
Role = Literal["duty_officer", "duty_lead", "leader_in_charge", "principal_leader"]
ROLES: tuple[Role, ...] = ("duty_officer", "duty_lead", "leader_in_charge", "principal_leader")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeadlineRule(_Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    met_by: list[Milestone] = Field(min_length=1)
    within: Duration = Field(gt=0)
    hard: bool = False


class FollowUp(_Strict):
    levels: list[Level] = Field(default_factory=lambda: list(LEVELS[:2]))
    every: Duration = Field(default=24 * 3600, gt=0)


class Step(_Strict):
    role: Role
    ack_within: Duration | None = Field(default=None, gt=0)


class Policy(_Strict):
    clock_start: Literal["detected", "first_item", "occurred"] = "detected"
    levels: dict[Level, list[DeadlineRule]]
    follow_up: FollowUp = Field(default_factory=FollowUp)
    reminders: list[Duration] = Field(default_factory=lambda: [3600, 1800, 0])
    escalation: list[Step] = Field(min_length=1)
    hard_miss_to: list[Role] = Field(default_factory=lambda: list(ROLES[2:]))
    late_after: Duration = 60

    @model_validator(mode="after")
    def _complete(self) -> Policy:
        missing = [level for level in LEVELS if level not in self.levels]
        if missing:
            raise ValueError(f"`levels` needs deadlines for every level; missing: "
                             f"{', '.join(missing)}")
        for level, rules in self.levels.items():
            keys = [r.key for r in rules]
            if len(set(keys)) != len(keys):
                raise ValueError(f"level {level}: each deadline key may appear once (got {keys})")
        if any(r < 0 for r in self.reminders):
            raise ValueError("reminders are times before a deadline, 0 or more")
        if any(step.ack_within is None for step in self.escalation[:-1]):
            raise ValueError("every escalation step but the last needs `ack_within`, the time "
                             "after which the next step is told")
        return self

    def deadlines(self, level: str) -> list[DeadlineRule]:
        return list(self.levels.get(level, []))  # type: ignore[call-overload]

    def freeze(self) -> str:
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False, sort_keys=True)

    @classmethod
    def thaw(cls, frozen: str) -> Policy:
        return _thawed(frozen)


@lru_cache(maxsize=64)
def _thawed(frozen: str) -> Policy:
    """Each due action thaws its incident's policy; incidents share a few, and they are frozen."""
    return Policy.model_validate(json.loads(frozen))


def load_policy(path: Path = POLICY_PATH) -> Policy:
    return validate(path, Policy, read_yaml(path))
