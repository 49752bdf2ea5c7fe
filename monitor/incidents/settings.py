"""alerts/incidents.yaml: the thresholds of incident detection, heat and levels."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from monitor.config import PROJECT_DIR, Duration, read_yaml, validate

INCIDENTS_PATH = PROJECT_DIR / "alerts" / "incidents.yaml"
Level = Literal["I", "II", "III", "IV"]
LEVELS: tuple[Level, ...] = ("I", "II", "III", "IV")  # most severe first


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Relevant(_Strict):
    health_score: float = Field(default=0.5, ge=0, le=1)
    plan_hit: bool = True


class NearDuplicate(_Strict):
    containment: float = Field(default=0.6, gt=0, le=1)
    repost_containment: float = Field(default=0.45, gt=0, le=1)
    candidates: float = Field(default=0.2, gt=0, lt=1)
    window: Duration = 24 * 3600


PlaceLevel = Literal["province", "prefecture", "county"]


def _other_place_weights() -> dict[PlaceLevel, float]:
    return {"province": 1.0, "prefecture": 3.0, "county": 6.0}


class Cluster(_Strict):
    similarity: float = Field(default=0.2, gt=0, le=1)
    # weight of a place term by the kind of place; "unit" covers hospitals, CDCs, bureaus…
    place_weight: dict[str, float] = Field(default_factory=lambda: {
        "city": 2.0, "region": 5.0, "town": 8.0, "unit": 8.0})
    # places elsewhere in China (models/lexicon/places_cn.tsv), by level
    other_place_weight: dict[PlaceLevel, float] = Field(default_factory=_other_place_weights)
    topic_weight: float = Field(default=4.0, ge=0)
    merge_similarity: float = Field(default=0.25, gt=0, le=1)
    window: Duration = 48 * 3600
    core_gap: Duration = 3600
    idle_penalty: float = Field(default=0.05, ge=0, le=1)  # similarity per hour of quiet
    idle_cap: Duration = 6 * 3600
    same_area_similarity: float = Field(default=0.1, ge=0, le=1)


class Spread(_Strict):
    risk: float = Field(default=0.4, ge=0, le=1)
    items: int = Field(default=5, ge=1)
    window: Duration = 3600
    over_baseline: float = Field(default=3.0, gt=0)


class Open(_Strict):
    items: int = Field(default=5, ge=1)
    sources: int = Field(default=1, ge=1)
    within: Duration = 12 * 3600
    negative_share: float = Field(default=0.3, ge=0, le=1)
    plan_share: float = Field(default=0.3, ge=0, le=1)
    spread: Spread = Field(default_factory=Spread)


class Heat(_Strict):
    half_life: Duration = 6 * 3600
    baseline_warm_up: Duration = 24 * 3600
    baseline_floor: float = Field(default=1.0, gt=0)


class LevelRule(_Strict):
    level: Level
    heat: float = Field(ge=0)
    sources: int = Field(default=1, ge=1)


class IncidentSettings(_Strict):
    relevant: Relevant = Field(default_factory=Relevant)
    near_duplicate: NearDuplicate = Field(default_factory=NearDuplicate)
    cluster: Cluster = Field(default_factory=Cluster)
    open: Open = Field(default_factory=Open)
    heat: Heat = Field(default_factory=Heat)
    levels: list[LevelRule] = Field(min_length=1, default_factory=lambda: [
        LevelRule(level="IV", heat=0)])
    dismiss_margin: float = Field(default=2.0, ge=1)

    @model_validator(mode="after")
    def _levels_once(self) -> IncidentSettings:
        if "unit" not in self.cluster.place_weight:
            raise ValueError("cluster.place_weight needs a weight for \"unit\" (any kind of "
                             "place not listed)")
        names = [r.level for r in self.levels]
        if len(set(names)) != len(names):
            raise ValueError(f"each level may appear once in `levels` (got {names})")
        self.levels.sort(key=lambda r: -r.heat)  # the first a reading reaches is its level
        return self


def load_incident_settings(path: Path = INCIDENTS_PATH) -> IncidentSettings:
    return validate(path, IncidentSettings, read_yaml(path))
