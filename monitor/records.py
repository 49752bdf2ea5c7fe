"""The core records every stage shares: plain frozen dataclasses, no I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields
from datetime import datetime
from operator import attrgetter
from typing import Any, TypeVar

T = TypeVar("T")


def pickled_by_values(cls: type[T]) -> type[T]:
    """Pickle a slotted dataclass as its constructor's arguments. Dataclasses' own pickling of
    slotted classes looks the fields up again for every object, which is several times
    slower; it counts when a long replay's items cross to another process and back."""
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    get = attrgetter(*names)

    def reduce(self: T) -> tuple[type[T], tuple[Any, ...]]:
        # attrgetter of one name gives the value itself, not a tuple
        return cls, get(self) if len(names) > 1 else (get(self),)

    cls.__reduce__ = reduce  # type: ignore[assignment,method-assign]
    return cls


class SourceKind(enum.StrEnum):
    AUTO = "auto"  # not given: RSS, Atom, RDF or JSON Feed, told from the response
    RSS = "rss"
    ATOM = "atom"
    JSON = "json"  # JSON Feed 1.x
    RSSHUB = "rsshub"  # an RSSHub route; RSS underneath


class Media(enum.StrEnum):
    CENTRAL = "central"  # 中央媒体
    PROVINCIAL = "provincial"  # 省级媒体
    LOCAL = "local"  # 地方媒体
    GOVERNMENT = "government"  # 政府网站
    SOCIAL = "social"  # 社交媒体
    FORUM = "forum"  # 论坛、留言板
    HOTLINE = "hotline"  # 热线
    UNKNOWN = "unknown"  # 其他: not given in sources.yaml


class FetchStatus(enum.StrEnum):
    OK = "ok"  # fetched and parsed
    NOT_MODIFIED = "not_modified"  # 304, or the same body as last time
    ERROR = "error"  # failed this time; retried later with back-off
    BUSY = "busy"  # not asked: its host said to wait (429/503 Retry-After); no failure
    GONE = "gone"  # HTTP 410: not polled again until its URL changes


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    url: str
    kind: SourceKind
    media: Media
    region: str
    interval_s: int  # the shortest gap between two polls of this source
    weight: float = 1.0  # authority, used for heat
    enabled: bool = True
    headers: dict[str, str] = field(default_factory=dict)
    assumed: tuple[str, ...] = ()  # fields sources.yaml left out, filled with defaults


@pickled_by_values
@dataclass(frozen=True, slots=True)
class Item:
    """One feed entry as stored. Times are timezone-aware (UTC inside)."""

    source: str
    ident: str  # identity within its source: "g:" guid, "u:" normalised url or "h:" content hash
    guid: str | None
    url: str
    url_norm: str
    title: str  # plain text
    title_norm: str  # for cross-source repost detection; "" when too short to compare
    summary: str  # sanitised HTML
    published_at: datetime | None
    fetched_at: datetime
    content_hash: str
    language: str | None = None
    encoding: str | None = None  # how the bytes were read, e.g. "gb18030 (http charset gbk)"
    id: int | None = None
    repost_of: int | None = None


@dataclass(frozen=True, slots=True)
class SourceHealth:
    source: str
    url: str
    status: FetchStatus | None = None
    http_status: int | None = None
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_warning: str | None = None
    consecutive_failures: int = 0
    fault: str | None = None  # the last failure's kind: busy, slow, down, refused, feed
    next_check_at: datetime | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    entries_per_day: float = 0.0


@pickled_by_values
@dataclass(frozen=True, slots=True)
class TopicScore:
    key: str  # taxonomy key, e.g. "access_to_care"
    score: float  # calibrated probability


@pickled_by_values
@dataclass(frozen=True, slots=True)
class PlanMatch:
    name: str  # the watch plan (方案)
    matched: tuple[str, ...]  # its words found in the text, normalised


@pickled_by_values
@dataclass(frozen=True, slots=True)
class Signal:
    """What analysis learned about one item."""

    health: bool
    health_score: float
    topics: tuple[TopicScore, ...]  # those above the threshold, best first; none if not health
    negative: float  # probability that the text is negative toward care, services or authorities
    plans: tuple[PlanMatch, ...]
    places: tuple[str, ...] = ()  # places and units of the jurisdiction profile it names
    model: str = ""  # id of the model that scored it
    item_id: int | None = None
    # sensitivity apart from tone (deaths, children, epidemics…): 1 − Π(1 − category weight),
    # times the health probability
    risk: float = 0.0
    risk_terms: tuple[str, ...] = ()  # the risk categories it touches, weightiest first
    tone_terms: tuple[str, ...] = ()  # what raised its negativity, when it is negative


class IncidentStatus(enum.StrEnum):
    OPEN = "open"  # detected, waiting for a duty officer
    CONFIRMED = "confirmed"  # a duty officer confirmed it (with a level)
    DISMISSED = "dismissed"  # judged not worth a response; comes back only if it grows
    RESPONDING = "responding"  # a response milestone has been recorded
    CLOSED = "closed"
    MERGED = "merged"  # folded into another incident (see merged_into)


@dataclass(frozen=True, slots=True)
class Incident:
    id: int
    status: IncidentStatus
    title: str  # the most representative item's title
    opened_at: datetime
    updated_at: datetime
    first_item_id: int
    first_source: str
    topics: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    region: str | None = None  # district or county of the profile, when one dominates
    items: int = 0  # reposts included
    stories: int = 0  # distinct stories (near-duplicates folded)
    sources: int = 0
    negative_share: float = 0.0
    heat: float = 0.0
    proposed_level: str | None = None
    level: str | None = None  # confirmed by a person
    parent_id: int | None = None  # the closed incident this one re-flares (次生舆情)
    merged_into: int | None = None


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One fact about an incident; the timeline only ever grows."""

    incident_id: int
    at: datetime
    type: str  # opened, item_added, level_proposed, confirmed, dismissed, resurfaced, ...
    actor: str  # "system" or a person
    data: dict[str, object] = field(default_factory=dict)
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Deadline:
    """A deadline of an incident's response clocks, met by a recorded milestone."""

    incident_id: int
    key: str  # release_target, release, press_conference, internal_report, response, follow_up_N
    label: str  # as the policy names it, in Chinese
    met_by: tuple[str, ...]  # milestone kinds that meet it
    hard: bool  # a miss reaches leadership whether or not somebody acknowledged
    due_at: datetime
    status: str = "pending"  # pending, met, missed, cancelled
    met_at: datetime | None = None
    missed_at: datetime | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class DueAction:
    """Something the clocks will do at ``due_at``: tell the next step of the escalation
    ladder, remind before a deadline, or check whether a deadline was met."""

    incident_id: int
    kind: str  # escalate, remind, check
    due_at: datetime
    deadline_key: str | None = None
    step: int | None = None
    status: str = "pending"  # pending, done, cancelled
    done_at: datetime | None = None
    id: int | None = None
