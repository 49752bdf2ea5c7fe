"""Data the analysis reads: the topic taxonomy, the jurisdiction profile and word lists.

All of it is data that an operator may replace (another city's profile, another taxonomy);
this module only validates it and hands out plain records.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from monitor.config import PROJECT_DIR, read_yaml, validate
from monitor.errors import ConfigError

MODELS_DIR = PROJECT_DIR / "models"
TAXONOMY_PATH = MODELS_DIR / "taxonomy.yaml"
HEALTH_WORDS_PATH = MODELS_DIR / "lexicon" / "health_words.txt"
STOPWORDS_PATH = MODELS_DIR / "lexicon" / "stopwords.txt"
TONE_PATH = MODELS_DIR / "lexicon" / "tone.yaml"
RISK_PATH = MODELS_DIR / "lexicon" / "risk.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- taxonomy ---------------------------------------------------------------------------------


class TopicModel(_Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    about: str = ""


class TaxonomyFile(_Strict):
    topics: list[TopicModel] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class Topic:
    key: str  # e.g. "access_to_care"
    name: str  # e.g. "就医保障"


def load_taxonomy(path: Path = TAXONOMY_PATH) -> list[Topic]:
    model = validate(path, TaxonomyFile, read_yaml(path))
    keys = [t.key for t in model.topics]
    if len(set(keys)) != len(keys):
        raise ConfigError(f"{path}: topic keys must be unique (got {', '.join(keys)})")
    return [Topic(t.key, t.name) for t in model.topics]


# --- jurisdiction profile ---------------------------------------------------------------------


class UnitModel(_Strict):
    name: str = Field(min_length=2)
    kind: str
    aliases: list[str] = Field(default_factory=list)


class StandardUnitModel(_Strict):
    suffix: str = Field(min_length=1)
    kind: str
    aliases_suffix: list[str] = Field(default_factory=list)


class TownModel(_Strict):
    name: str = Field(min_length=2)
    aliases: list[str] = Field(default_factory=list)


class RegionModel(_Strict):
    name: str = Field(min_length=2)
    short: str | None = None
    aliases: list[str] = Field(default_factory=list)
    towns: list[str | TownModel] = Field(default_factory=list)
    units: list[UnitModel] = Field(default_factory=list)


class ProfileFile(_Strict):
    name: str = Field(min_length=2)
    aliases: list[str] = Field(default_factory=list)
    units: list[UnitModel] = Field(default_factory=list)
    standard_units: list[StandardUnitModel] = Field(default_factory=list)
    town_unit: StandardUnitModel | None = None
    regions: list[RegionModel] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Place:
    """A named place or unit of the jurisdiction; `region` is its district or county."""

    name: str
    kind: str  # "city", "region", "town" or a unit kind such as "hospital"
    region: str | None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Profile:
    name: str
    places: tuple[Place, ...]

    def words(self) -> list[str]:
        """Every name and alias, for the segmenter's dictionary."""
        return sorted({w for p in self.places for w in (p.name, *p.aliases) if len(w) >= 2})


def load_profile(path: Path) -> Profile:
    """Read a jurisdiction profile, expanding standard units for every county and town."""
    m = validate(path, ProfileFile, read_yaml(path))
    places = [Place(m.name, "city", None, tuple(m.aliases))]
    places += [Place(u.name, u.kind, None, tuple(u.aliases)) for u in m.units]
    for region in m.regions:
        short = region.short or region.name
        aliases = tuple(dict.fromkeys(a for a in (short, *region.aliases) if a != region.name))
        places.append(Place(region.name, "region", region.name, aliases))
        for std in m.standard_units:
            full = region.name + std.suffix
            names = [short + std.suffix, *(short + a for a in std.aliases_suffix)]
            if full != names[0]:
                names.append(full)
            places.append(Place(names[0], std.kind, region.name, tuple(names[1:])))
        for entry in region.towns:
            town = entry if isinstance(entry, TownModel) else TownModel(name=entry)
            places.append(Place(town.name, "town", region.name, tuple(town.aliases)))
            if m.town_unit is not None:
                places.append(Place(town.name + m.town_unit.suffix, m.town_unit.kind,
                                    region.name))
        places += [Place(u.name, u.kind, region.name, tuple(u.aliases)) for u in region.units]
    seen: dict[str, str] = {}
    for place in places:
        for word in (place.name, *place.aliases):
            if word in seen and seen[word] != place.name:
                raise ConfigError(f"{path}: {word!r} names both {seen[word]!r} and "
                                  f"{place.name!r}; an alias must point to one place")
            seen[word] = place.name
    return Profile(m.name, tuple(places))


# --- word lists -------------------------------------------------------------------------------


def read_word_list(path: Path) -> list[str]:
    """One word per line; blank lines and lines starting with # are skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read word list ({exc})") from None
    return [w for w in (line.strip() for line in lines) if w and not w.startswith("#")]
