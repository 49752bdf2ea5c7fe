"""Settings and sources.yaml: YAML → pydantic (unknown keys refused) → records.

Every validation error names the file, the line and what is allowed, e.g.
``sources.yaml:14: source "weibo-lincang": interval must be between 60 s and 24 h (got 5)``.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args, get_origin
from urllib.parse import urljoin, urlsplit

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
)

from monitor.errors import ConfigError
from monitor.records import Media, Source, SourceKind

M = TypeVar("M", bound=BaseModel)
PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_INTERVAL_S = 15 * 60
MIN_INTERVAL_S = 60
MAX_INTERVAL_S = 24 * 3600
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d)?\s*$")
_UNITS = {None: 1, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def parse_duration(value: object) -> int:
    """Seconds from ``90``, ``"90s"``, ``"15m"``, ``"2h"`` or ``"1d"``."""
    if isinstance(value, bool):
        # pydantic turns ValueError, not TypeError, into a validation message
        raise ValueError("a duration such as 900, 15m, 2h or 1d")  # noqa: TRY004
    if isinstance(value, int | float):
        return int(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"a duration such as 900, 15m, 2h or 1d (got {value!r})")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def parse_size(value: object) -> int:
    """Bytes from ``1048576``, ``"512 KiB"`` or ``"16 MiB"``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = re.match(r"^\s*(\d+)\s*(B|KiB|MiB|GiB)?\s*$", str(value))
    if not match:
        raise ValueError(f"a size such as 16 MiB (got {value!r})")
    return int(match.group(1)) * {None: 1, "B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}[
        match.group(2)
    ]


Duration = Annotated[int, BeforeValidator(parse_duration)]
Size = Annotated[int, BeforeValidator(parse_size)]


_HOST_NAME = re.compile(r"[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\]")
# dotted digits (10.0.0.300) or anything with a colon (fd00::1): meant as an address
_ADDRESS_LIKE = re.compile(r"\d+(?:\.\d+)+|[0-9a-fA-F.]*:[0-9a-fA-F:.]*")


def _is_network(entry: str) -> bool:
    try:
        ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
    return True


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceModel(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    url: str
    # left out: a route is rsshub, anything else is told from the response
    kind: SourceKind | None = None
    media: Media = Media.UNKNOWN
    region: str | None = Field(default=None, min_length=1)  # default: the jurisdiction's
    interval: Duration = Field(default=DEFAULT_INTERVAL_S, ge=MIN_INTERVAL_S, le=MAX_INTERVAL_S)
    weight: float = Field(default=1.0, ge=0.0, le=10.0)
    enabled: StrictBool = True  # "no" in quotes is a string, not false
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _url_shape(cls, url: str) -> str:
        if url.startswith("/"):
            return url  # an RSSHub route; joined to the rsshub base below
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"an http(s) URL, or an RSSHub route starting with / (got {url!r})")
        return url


class HostModel(_Strict):
    """How hard one host may be asked: its sources share these, whatever their number."""
    concurrency: int | None = Field(default=None, ge=1, le=64)  # requests at once
    gap: float | None = Field(default=None, ge=0.0, le=600.0)  # seconds between request starts
    headers: dict[str, str] = Field(default_factory=dict)  # under each source's own headers


class SourcesFile(_Strict):
    rsshub: str | None = None  # base URL of the RSSHub instance that serves kind: rsshub routes
    hosts: dict[str, HostModel] = Field(default_factory=dict)  # by host name, e.g. rsshub.local
    sources: list[SourceModel]

    @field_validator("hosts")
    @classmethod
    def _host_names(cls, value: dict[str, HostModel]) -> dict[str, HostModel]:
        for name in value:
            if not _HOST_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a host name: give the name alone, as in "
                                 "rsshub.example.org or 10.0.0.5, without scheme, port or path")
        return value


class FetchSettings(_Strict):
    timeout: Duration = Field(default=30, gt=0)  # total per request, redirects included
    connect_timeout: Duration = Field(default=10, gt=0)
    max_body: Size = 16 * 1024 * 1024  # counted after decompression
    max_redirects: int = Field(default=5, ge=0, le=20)
    concurrency: int = Field(default=32, ge=1, le=1024)
    per_host: int = Field(default=2, ge=1, le=256)
    host_gap: float = Field(default=5.0, ge=0.0)  # seconds between request starts to one host
    max_interval: Duration = Field(default=MAX_INTERVAL_S, ge=MIN_INTERVAL_S, le=7 * 86400)
    allow_private: list[str] = Field(default_factory=list)  # host names or CIDR ranges
    user_agent: str = "health-opinion-monitor/0.1 (+feed fetcher)"

    @field_validator("allow_private")
    @classmethod
    def _hosts_or_ranges(cls, value: list[str]) -> list[str]:
        for entry in value:
            # what looks like an address or a range must be one, not quietly a host name
            if ("/" in entry or _ADDRESS_LIKE.fullmatch(entry)) and not _is_network(entry):
                raise ValueError(f"{entry!r} is neither a host name nor a valid IP address "
                                 "or CIDR range (e.g. 10.0.0.0/8)")
        return value


class WebSettings(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    # the address people reach the service at, for the links in alerts; https:// here also
    # marks the session cookie Secure
    public_url: str | None = None
    # reverse proxies (addresses or CIDR ranges) whose X-Forwarded-For and X-Forwarded-Proto
    # are believed: behind them, sign-in limits count the person's address, not the proxy's
    trusted_proxies: list[str] = Field(default_factory=list)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            if not _is_network(entry):
                raise ValueError(f"{entry!r} is not an IP address or CIDR range (e.g. "
                                 "10.0.0.5 or 10.0.0.0/24)")
        return value


class PipelineSettings(_Strict):
    # how long the pipeline lease lasts without a renewal: a standby takes over within this
    lease: Duration = Field(default=20, ge=3, le=600)


class AnalysisSettings(_Strict):
    profile: str | None = None  # jurisdiction profile (default: profile.yaml)
    plans: str | None = None  # watch plans (default: plans.yaml)
    models: str | None = None  # model directory (default: the bundled models/)


class SettingsModel(_Strict):
    database: str | None = None
    sources: str | None = None
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    pipeline: PipelineSettings = Field(default_factory=PipelineSettings)
    analysis: AnalysisSettings = Field(default_factory=AnalysisSettings)
    incidents: str | None = None  # incident thresholds (default: alerts/incidents.yaml)
    policy: str | None = None  # response clocks (default: alerts/policy.yaml)
    roster: str | None = None  # duty roster (default: alerts/roster.yaml)
    channels: str | None = None  # alert channels (default: alerts/channels.yaml)
    routing: str | None = None  # alert routing (default: alerts/routing.yaml)
    reports: str | None = None  # scheduled reports (default: alerts/reports.yaml)


@dataclass(frozen=True)
class Settings:
    database_url: str
    sources_path: Path
    fetch: FetchSettings = field(default_factory=FetchSettings)
    web: WebSettings = field(default_factory=WebSettings)
    pipeline: PipelineSettings = field(default_factory=PipelineSettings)
    profile_path: Path = PROJECT_DIR / "profile.yaml"
    plans_path: Path = PROJECT_DIR / "plans.yaml"
    models_dir: Path = PROJECT_DIR / "models"
    incidents_path: Path = PROJECT_DIR / "alerts" / "incidents.yaml"
    policy_path: Path = PROJECT_DIR / "alerts" / "policy.yaml"
    roster_path: Path = PROJECT_DIR / "alerts" / "roster.yaml"
    channels_path: Path = PROJECT_DIR / "alerts" / "channels.yaml"
    routing_path: Path = PROJECT_DIR / "alerts" / "routing.yaml"
    reports_path: Path = PROJECT_DIR / "alerts" / "reports.yaml"


def _default_file(name: str) -> Path:
    """A file of that name in the working directory, else the bundled one."""
    local = Path.cwd() / name
    return local if local.exists() else PROJECT_DIR / name


def default_sources_path() -> Path:
    return _default_file("sources.yaml")


def load_settings(config: Path | None = None, *, database: str | None = None,
                  sources: Path | None = None) -> Settings:
    """Command-line values win, then the config file, then the environment, then defaults."""
    model = SettingsModel()
    base = Path.cwd()
    if config is not None:
        model = validate(config, SettingsModel, read_yaml(config))
        base = config.resolve().parent
    allow = list(model.fetch.allow_private) + _split_env("MONITOR_ALLOW_PRIVATE")
    fetch = model.fetch.model_copy(update={"allow_private": allow})
    if sources is None:
        sources = (base / model.sources) if model.sources else default_sources_path()
    url = database or model.database or os.environ.get("MONITOR_DB") or "sqlite:///monitor.db"
    a = model.analysis
    return Settings(
        database_url=url, sources_path=sources, fetch=fetch, web=model.web,
        pipeline=model.pipeline,
        profile_path=base / a.profile if a.profile else _default_file("profile.yaml"),
        plans_path=base / a.plans if a.plans else _default_file("plans.yaml"),
        models_dir=base / a.models if a.models else PROJECT_DIR / "models",
        incidents_path=(base / model.incidents if model.incidents
                        else _default_file("alerts/incidents.yaml")),
        policy_path=base / model.policy if model.policy else _default_file("alerts/policy.yaml"),
        roster_path=base / model.roster if model.roster else _default_file("alerts/roster.yaml"),
        channels_path=(base / model.channels if model.channels
                       else _default_file("alerts/channels.yaml")),
        routing_path=(base / model.routing if model.routing
                      else _default_file("alerts/routing.yaml")),
        reports_path=(base / model.reports if model.reports
                      else _default_file("alerts/reports.yaml")))


def _split_env(name: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, "").split(",") if part.strip()]


@dataclass(frozen=True)
class HostPolicy:
    """What sources.yaml says of one host; None leaves the fetch settings' default."""
    concurrency: int | None = None
    gap: float | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceList:
    sources: list[Source]
    # The self-hosted RSSHub named in the file is trusted even on a private address.
    trusted_hosts: list[str] = field(default_factory=list)
    hosts: dict[str, HostPolicy] = field(default_factory=dict)
    rsshub_host: str | None = None  # the operator's own server: generous defaults

    def by_name(self, name: str) -> Source:
        for source in self.sources:
            if source.name == name:
                return source
        raise ConfigError(f"no source named {name!r}; known: "
                          f"{', '.join(s.name for s in self.sources)}")


def load_settings_sources(settings: Settings) -> SourceList:
    """The sources file of these settings, a source without a region taking the city of the
    jurisdiction profile."""
    return load_sources(settings.sources_path, _jurisdiction(settings.profile_path))


def _jurisdiction(profile_path: Path) -> str | None:
    # only the name is read here; the analyzer validates the whole profile when it loads it
    try:
        data = read_yaml(profile_path).data
    except ConfigError:
        return None
    name = data.get("name") if isinstance(data, dict) else None
    return str(name) if name else None


def load_sources(path: Path, default_region: str | None = None) -> SourceList:
    """Read and validate a sources file; every source, enabled or not, in file order.
    ``default_region``: the region of a source that names none (the jurisdiction's city)."""
    loaded = read_yaml(path)
    model = validate(path, SourcesFile, loaded)
    rsshub = os.environ.get("MONITOR_RSSHUB") or model.rsshub
    seen: dict[str, int] = {}
    result = []
    for index, src in enumerate(model.sources):
        line = line_of(loaded.node, ("sources", index))
        if src.name in seen:
            raise ConfigError(f"{path}:{line}: source {src.name!r} is listed twice "
                              f"(first at index {seen[src.name]}); names must be unique")
        seen[src.name] = index
        given = loaded.data["sources"][index]
        assumed = tuple(key for key in ("kind", "media", "region") if key not in given)
        url, kind = src.url, src.kind
        if url.startswith("/"):
            if kind not in (None, SourceKind.RSSHUB):
                raise ConfigError(f"{path}:{line}: source {src.name!r}: a route ({url}) needs "
                                  "kind: rsshub; other kinds need a full http(s) URL")
            if not rsshub:
                raise ConfigError(f"{path}:{line}: source {src.name!r}: route {url} needs an "
                                  "RSSHub base: set `rsshub:` at the top of the file or MONITOR_RSSHUB")
            url, kind = urljoin(rsshub.rstrip("/") + "/", url.lstrip("/")), SourceKind.RSSHUB
        result.append(Source(name=src.name, url=url, kind=kind or SourceKind.AUTO,
                             media=src.media, region=src.region or default_region or "未指定",
                             interval_s=src.interval, weight=src.weight, enabled=src.enabled,
                             headers=dict(src.headers), assumed=assumed))
    rsshub_host = (urlsplit(rsshub).hostname or "").lower() if rsshub else ""
    hosts = {name.lower().strip("[]"): HostPolicy(h.concurrency, h.gap, dict(h.headers))
             for name, h in model.hosts.items()}
    return SourceList(result, [rsshub_host] if rsshub_host else [], hosts, rsshub_host or None)


# --- YAML with line numbers -------------------------------------------------------------------


@dataclass(frozen=True)
class YamlDoc:
    data: Any
    node: yaml.Node | None


def read_yaml(path: Path) -> YamlDoc:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc}); save it as UTF-8 text") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: not valid YAML: {exc.problem}") from None
    if node is not None:
        _refuse_duplicate_keys(path, node)
    if data is None:
        data = {}
    return YamlDoc(data, node)


def _refuse_duplicate_keys(path: Path, node: yaml.Node) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                raise ConfigError(f"{path}:{key.start_mark.line + 1}: key {key.value!r} "
                                  "appears twice in the same block; keep one")
            seen.add(key.value)
            _refuse_duplicate_keys(path, value)
    elif isinstance(node, yaml.SequenceNode):
        for child in node.value:
            _refuse_duplicate_keys(path, child)


def _node_at(node: yaml.Node | None, loc: Sequence[int | str]) -> yaml.Node | None:
    """The deepest node along ``loc`` that exists (a missing key points at its parent). A step
    that names no key of a mapping is passed over: it is the tag pydantic puts in the location
    of an error inside a discriminated union (``channels.0.wecom.keyy``)."""
    for step in loc:
        if isinstance(node, yaml.MappingNode):
            child = next((value for key, value in node.value if key.value == step), None)
            if child is None:
                continue
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            child = node.value[step]
        else:
            return node
        node = child
    return node


def line_of(node: yaml.Node | None, loc: Sequence[int | str]) -> int:
    found = _node_at(node, loc)
    return found.start_mark.line + 1 if found is not None else 1


def validate(path: Path, model: type[M], loaded: YamlDoc) -> M:
    try:
        return model.model_validate(loaded.data)
    except ValidationError as exc:
        raise ConfigError(_describe(path, model, loaded, exc)) from None


def _describe(path: Path, model: type[BaseModel], loaded: YamlDoc, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = err["loc"]
        where = f"{path}:{line_of(loaded.node, loc)}"
        subject = _subject(loaded.data, loc)
        names = [str(p) for p in loc if isinstance(p, str)]
        field_name = (names[-1] if subject else ".".join(names)) if names else "file"
        if err["type"] == "extra_forbidden":
            allowed = sorted(_model_at(model, loc[:-1]).model_fields)
            guess = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            hint = f"; did you mean {guess[0]!r}?" if guess else ""
            lines.append(f"{where}: {subject}unknown key {loc[-1]!r}{hint} "
                         f"(allowed: {', '.join(allowed)})")
        elif err["type"] == "missing":
            lines.append(f"{where}: {subject}{field_name} is required")
        else:
            got = err.get("input")
            shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
            if isinstance(got, bool) and err["type"] == "string_type":
                shown += "; YAML reads yes/no/on/off as true/false: put the value in quotes"
            if isinstance(got, str) and err["type"] == "bool_type":
                shown += "; write true or false, without quotes"
            lines.append(f"{where}: {subject}{field_name}: {err['msg']}{shown}")
    return "\n".join(lines)


def _subject(data: Any, loc: Sequence[int | str]) -> str:
    """'source "x": ' for an error inside the list entry named x (sources, plans, regions)."""
    if len(loc) >= 2 and isinstance(loc[0], str) and isinstance(loc[1], int):
        kind = loc[0].removesuffix("s")
        try:
            name = data[loc[0]][loc[1]].get("name")
        except (KeyError, IndexError, TypeError, AttributeError):
            name = None
        return f"{kind} {name!r}: " if name else f"{kind} #{loc[1] + 1}: "
    return ""


def _model_at(model: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel]:
    """The model at ``loc``; in a union of models, the one whose field the next step names,
    or whose tag it is (a discriminated union puts the tag in the location)."""
    candidates = [model]
    for step in loc:
        if isinstance(step, int):
            continue
        named = next((m for m in candidates if step in m.model_fields), None)
        if named is not None:
            candidates = _models_in(named.model_fields[step].annotation) or [named]
            continue
        tagged = [m for m in candidates if any(
            step in get_args(f.annotation) for f in m.model_fields.values()
            if get_origin(f.annotation) is Literal)]
        candidates = tagged or candidates
    return candidates[0]


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models an annotation holds: itself, or inside list[...], X | None, Annotated[...]."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]
