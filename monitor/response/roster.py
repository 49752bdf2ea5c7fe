"""alerts/roster.yaml: people, their channels, and who holds each role at a given moment."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from monitor.clock import SHANGHAI
from monitor.config import PROJECT_DIR, Duration, read_yaml, validate
from monitor.response.policy import Role

ROSTER_PATH = PROJECT_DIR / "alerts" / "roster.yaml"
CHANNELS = ("wecom", "dingtalk", "feishu", "phone", "email")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _beijing(value: object) -> object:
    """Times without a zone are Beijing time."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=SHANGHAI)
    return value


class Person(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    name: str
    wecom: str | None = None
    dingtalk: str | None = None
    feishu: str | None = None
    phone: str | None = None
    email: str | None = None

    def channels(self) -> dict[str, str]:
        return {c: v for c in CHANNELS if (v := getattr(self, c))}


class Rotation(_Strict):
    start: AwareDatetime
    shift: Duration = Field(gt=0)
    people: list[str] = Field(min_length=1)

    _zone = field_validator("start", mode="before")(_beijing)


class RoleSpec(_Strict):
    rotation: Rotation | None = None
    people: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_way(self) -> RoleSpec:
        if (self.rotation is None) == (not self.people):
            raise ValueError("a role has either a `rotation` or a list of `people`, not both "
                             "and not neither")
        return self


class Override(_Strict):
    role: Role
    person: str
    from_: AwareDatetime = Field(alias="from")
    to: AwareDatetime
    reason: str = ""

    _zone = field_validator("from_", "to", mode="before")(_beijing)


class Roster(_Strict):
    people: list[Person]
    roles: dict[Role, RoleSpec]
    overrides: list[Override] = Field(default_factory=list)

    @model_validator(mode="after")
    def _known_people(self) -> Roster:
        ids = [p.id for p in self.people]
        if len(set(ids)) != len(ids):
            raise ValueError(f"each person id may appear once (got {ids})")
        named = [(f"roles.{role}", pid) for role, spec in self.roles.items()
                 for pid in (spec.rotation.people if spec.rotation else spec.people)]
        named += [(f"override of {o.role}", o.person) for o in self.overrides]
        unknown = [f"{where}: {pid}" for where, pid in named if pid not in ids]
        if unknown:
            raise ValueError(f"unknown people (add them under `people`): {'; '.join(unknown)}")
        return self

    def person(self, person_id: str) -> Person | None:
        return next((p for p in self.people if p.id == person_id), None)

    def on_duty(self, role: str, at: datetime) -> list[Person]:
        """Who holds ``role`` at ``at``: an override if one covers it, else the rotation or
        the fixed people."""
        override = [o.person for o in self.overrides if o.role == role and o.from_ <= at < o.to]
        if override:
            ids = override
        else:
            spec = self.roles.get(role)  # type: ignore[call-overload]
            if spec is None:
                return []
            if spec.rotation is not None:
                rot = spec.rotation
                turn = int((at - rot.start).total_seconds() // rot.shift)
                ids = [rot.people[turn % len(rot.people)]]
            else:
                ids = spec.people
        return [p for pid in ids if (p := self.person(pid)) is not None]


def load_roster(path: Path = ROSTER_PATH) -> Roster:
    return validate(path, Roster, read_yaml(path))
