"""What the 舆情态势 page shows for a period: the counts of each Beijing day (from the store's
SQL, monitor/store/situation.py), folded into KPIs, a trend, tone, topics, media, counties and
hot words, with the hottest incidents and the sources that went silent.

A period is whole Beijing days (today so far, 7 or 30 days, or dates chosen: periods.py), so
the counts are kept per day: a day whose items are all analysed and whose (count, highest id) is unchanged has
the same counts, and is not counted or segmented again. Only today, which grows, is read again
at each request; the first request for a month of days reads and segments them all once."""

from __future__ import annotations

import asyncio
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Connection

from monitor.analyze.analyzer import Analyzer
from monitor.clock import SHANGHAI
from monitor.collect.schedule import after_success
from monitor.config import SourceList
from monitor.incidents.intake import INTAKE_SOURCE
from monitor.records import Deadline, FetchStatus
from monitor.store import Store
from monitor.store.response import pending_deadlines
from monitor.store.situation import (
    NEGATIVE_AT,
    POSITIVE_BELOW,
    Span,
    analysed_through,
    counts,
    health_titles,
    incident_counts,
    newest_items,
    place_sets,
    source_counts,
    top_incidents,
    versions,
)
from monitor.store.sources import all_health
from monitor.web.browse import MEDIA
from monitor.web.hotwords import HotWords
from monitor.web.periods import Period, day_span
from monitor.wording import LEVELS, STATUS

MEDIA_NAMES = {**MEDIA, "intake": "人工录入"}  # reports entered by hand are no feed's
CITY = "市本级"  # items naming only the city or its own units, no county
HOT_WORDS = 100
CACHED_DAYS = 400
SILENT_TIMES = 3  # a source is silent after three of its usual gaps without news


@dataclass
class DayStats:
    """One Beijing day's counts of the health-related items (and of all items)."""

    version: tuple[int, int]
    items: int = 0
    health: int = 0
    negative: int = 0
    positive: int = 0
    topics: Counter[str] = field(default_factory=Counter)
    media: Counter[str] = field(default_factory=Counter)
    regions: Counter[str] = field(default_factory=Counter)
    words: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class RegionName:
    name: str  # as the profile names the county
    label: str  # the short form on a bar: 双江县 for 双江拉祜族佤族布朗族傣族自治县


class SituationData:
    def __init__(self, store: Store, analyzer: Analyzer, sources: SourceList,
                 max_interval_s: int) -> None:
        self.store, self.analyzer, self.sources = store, analyzer, sources
        self.max_interval_s = max_interval_s
        self.topics = {t.key: t.name for t in analyzer.topics}
        self.media_of = {s.name: s.media.value for s in sources.sources}
        places = analyzer.profile.places
        self.region_of = {p.name: p.region for p in places if p.region}
        self.city_places = {p.name for p in places if p.region is None}
        self.regions = [RegionName(p.name, _short(p.name, p.aliases))
                        for p in places if p.kind == "region"]
        # place and unit names say where, not what: the county chart says that already
        self.hot = HotWords(analyzer.segmenter, analyzer.profile.words())
        self._days: OrderedDict[date, DayStats] = OrderedDict()

    async def situation(self, period: Period, now: datetime) -> dict[str, Any]:
        spans = [day_span(d) for d in period.days]
        hours = _hours(period, now) if period.hourly else []
        live = await self.store.run(lambda c: self._now_state(c, period, spans, hours, now))
        days = await self._stats(period.days, spans, live["versions"])
        return self._assemble(period, now, days, hours, live)

    async def warm(self, today: date, days: int) -> None:
        """Count and segment the last ``days`` days ahead of the first reader, a day per
        transaction so that the pipeline's writes go in between."""
        for n in range(days):
            day = today - timedelta(days=n)
            spans = [day_span(day)]
            seen = await self.store.run(partial(versions, spans=spans))
            await self._stats([day], spans, seen)

    async def _stats(self, days: Sequence[date], spans: Sequence[Span],
                     seen: Sequence[tuple[int, int]]) -> list[DayStats]:
        """Each day's counts: kept ones whose version is unchanged, the others read now."""
        fresh: dict[date, DayStats] = {}
        missing = [(d, s, v) for d, s, v in zip(days, spans, seen, strict=True)
                   if (cached := self._days.get(d)) is None or cached.version != v]
        if missing:
            raw = await self.store.run(lambda c: self._read_days(c, missing))
            # segmenting titles is CPU work: off the event loop
            for day, stats, final in await asyncio.to_thread(self._fold_days, raw):
                if final:
                    self._keep(day, stats)
                else:  # items still waiting for analysis: read again next time
                    self._days.pop(day, None)
                fresh[day] = stats
        return [fresh.get(d) or self._days[d] for d in days]

    def _keep(self, day: date, stats: DayStats) -> None:
        self._days[day] = stats
        self._days.move_to_end(day)
        while len(self._days) > CACHED_DAYS:
            self._days.popitem(last=False)

    def _now_state(self, conn: Connection, period: Period, spans: list[Span],
                   hours: list[Span], now: datetime) -> dict[str, Any]:
        """Everything read afresh at each request, in one transaction: the days' versions,
        the hourly counts, the incidents and the sources."""
        top = top_incidents(conn, period.span)
        pending = pending_deadlines(conn, [i.id for i in top])
        health = all_health(conn)
        gaps = [self._gap(s.interval_s, health.get(s.name)) for s in self.sources.sources
                if s.enabled]
        since = now - timedelta(seconds=SILENT_TIMES * max(gaps, default=0))
        return {"versions": versions(conn, spans), "hours": counts(conn, hours),
                "incidents": incident_counts(conn, period.span), "top": top,
                "pending": pending, "health": health, "newest": newest_items(conn, since)}

    def _read_days(self, conn: Connection, missing: Sequence[tuple[date, Span, tuple[int, int]]]
                   ) -> list[tuple[date, tuple[int, int], bool, Any, Any, list[str]]]:
        through = analysed_through(conn)  # before the counts: what is final now stays so
        keys = list(self.topics)
        return [(day, version, version[1] <= through, source_counts(conn, span, keys),
                 place_sets(conn, span), health_titles(conn, span))
                for day, span, version in missing]

    def _fold_days(self, raw: Iterable[tuple[date, tuple[int, int], bool, Any, Any, list[str]]]
                   ) -> list[tuple[date, DayStats, bool]]:
        keys = list(self.topics)
        out = []
        for day, version, final, by_source, places, titles in raw:
            stats = DayStats(version)
            for row in by_source:
                stats.items += row.items
                stats.health += row.health
                stats.negative += row.negative
                stats.positive += row.positive
                stats.topics.update({k: n for k, n in zip(keys, row.topics, strict=True) if n})
                if row.health:
                    stats.media[self.media_key(row.source)] += row.health
            for named, n in places:
                for region in self._regions_named(named):
                    stats.regions[region] += n
            stats.words = self.hot.count(titles)
            out.append((day, stats, final))
        return out

    def media_key(self, source: str) -> str:
        """The media type of a source's items: as sources.yaml says, 'intake' for reports
        entered by hand, 'unknown' for a source no longer (or never) in the file."""
        if source == INTAKE_SOURCE:
            return "intake"
        return self.media_of.get(source, "unknown")

    def _regions_named(self, places: Sequence[str]) -> set[str]:
        """The counties an item names; the city level when it names only the city's own."""
        found = {r for p in places if (r := self.region_of.get(p))}
        if not found and any(p in self.city_places for p in places):
            return {CITY}
        return found

    def region_label(self, places: Sequence[str]) -> str:
        """The counties an item names, by their short names, for a row of the workbook."""
        found = self._regions_named(places)
        return "、".join([r.label for r in self.regions if r.name in found]
                        + ([CITY] if CITY in found else []))

    def _gap(self, interval_s: int, health: Any) -> int:
        """The gap between two polls the scheduler keeps for a source now: a week divided by
        last week's entries, between its interval and the longest interval."""
        per_day = health.entries_per_day if health is not None else 0.0
        return after_success(interval_s, self.max_interval_s, round(per_day * 7))

    def _silent(self, health: Mapping[str, Any], newest: Mapping[str, datetime],
                now: datetime) -> list[dict[str, Any]]:
        """Enabled sources without a successful fetch, or without a new item, for longer than
        three of their usual gaps."""
        out = []
        for source in self.sources.sources:
            if not source.enabled:
                continue
            h = health.get(source.name)
            gap = timedelta(seconds=SILENT_TIMES * self._gap(source.interval_s, h))
            success = h.last_success_at if h is not None else None
            last_item = newest.get(source.name)
            if success is None:
                reason = "从未成功抓取"
            elif now - success > gap:
                reason = f"{_ago(now - success)}未成功抓取"
            elif last_item is None or now - last_item > gap:
                reason = (f"{_ago(now - last_item)}无新信息" if last_item is not None
                          else f"{_ago(gap)}以上无新信息")
            else:
                continue
            gone = h is not None and h.status is FetchStatus.GONE
            out.append({"name": source.name,
                        "media": MEDIA_NAMES.get(source.media.value, "其他"),
                        "reason": "已下线（HTTP 410）" if gone else reason,
                        "last_success": _iso(success), "last_item": _iso(last_item),
                        "last_error": (h.last_error or "") if h is not None else ""})
        return out

    def _assemble(self, period: Period, now: datetime, days: Sequence[DayStats],
                  hours: Sequence[Span], live: Mapping[str, Any]) -> dict[str, Any]:
        total = DayStats((0, 0))
        for d in days:
            total.items += d.items
            total.health += d.health
            total.negative += d.negative
            total.positive += d.positive
            for mine, theirs in ((total.topics, d.topics), (total.media, d.media),
                                 (total.regions, d.regions), (total.words, d.words)):
                mine.update(theirs)
        opened, open_now, missed = live["incidents"]
        if period.hourly:
            labels = [s[0].astimezone(SHANGHAI).strftime("%m-%d %H:00") for s in hours]
            all_, health = [c[0] for c in live["hours"]], [c[1] for c in live["hours"]]
        else:
            labels = [d.strftime("%m-%d") for d in period.days]
            all_, health = [d.items for d in days], [d.health for d in days]
        neutral = total.health - total.negative - total.positive
        return {
            "period": {"key": period.key, "label": period.label, "from": str(period.first),
                       "to": str(period.last), "query": period.query()},
            "generated_at": now.astimezone(SHANGHAI).isoformat(),
            "kpis": {"items": total.items, "health": total.health,
                     "negative": total.negative,
                     "negative_share": round(total.negative / total.health, 4)
                     if total.health else 0.0,
                     "incidents_opened": opened, "incidents_open": open_now,
                     "deadlines_missed": missed},
            "trend": {"bucket": "hour" if period.hourly else "day", "labels": labels,
                      "all": all_, "health": health},
            "sentiment": [{"key": "negative", "name": "负面", "value": total.negative},
                          {"key": "neutral", "name": "中性", "value": neutral},
                          {"key": "positive", "name": "正面", "value": total.positive}],
            "thresholds": {"negative_at": NEGATIVE_AT, "positive_below": POSITIVE_BELOW},
            "topics": sorted(({"key": k, "name": name, "value": total.topics.get(k, 0)}
                              for k, name in self.topics.items()),
                             key=lambda t: -t["value"]),
            "media": [{"key": k, "name": MEDIA_NAMES.get(k, "其他"), "value": n}
                      for k, n in total.media.most_common()],
            "regions": [{"name": r.name, "label": r.label, "value": total.regions.get(r.name, 0)}
                        for r in self.regions]
                       + [{"name": CITY, "label": CITY, "value": total.regions.get(CITY, 0)}],
            "hot_words": [{"word": w, "count": n}
                          for w, n in total.words.most_common(HOT_WORDS)],
            "top_incidents": [self._incident(i, live["pending"].get(i.id, []))
                              for i in live["top"]],
            "silent_sources": self._silent(live["health"], live["newest"], now),
        }

    def _incident(self, incident: Any, pending: Sequence[Deadline]) -> dict[str, Any]:
        level = incident.level or incident.proposed_level
        name = LEVELS.get(level or "", "待定级")
        nxt = min(pending, key=lambda d: d.due_at) if pending else None
        return {"id": incident.id, "title": incident.title, "status": incident.status,
                "status_name": STATUS.get(incident.status, incident.status),
                "level": level, "level_confirmed": incident.level is not None,
                "level_name": name if incident.level else f"建议{name}",
                "heat": round(incident.heat, 1), "items": incident.items,
                "region": incident.region or "",
                "topics": [self.topics.get(t, t) for t in incident.topics],
                "next_deadline": None if nxt is None else {
                    "label": nxt.label, "due": nxt.due_at.astimezone(SHANGHAI).isoformat()}}


def _hours(period: Period, now: datetime) -> list[Span]:
    """The period's hours up to the current one."""
    start, end = period.span
    out = []
    while start < end and start <= now:
        out.append((start, start + timedelta(hours=1)))
        start += timedelta(hours=1)
    return out


def _short(name: str, aliases: Sequence[str]) -> str:
    """双江县 for 双江拉祜族佤族布朗族傣族自治县: the first alias when it is a county's short
    form (the profile lists it first), else the name."""
    if aliases and len(aliases[0]) < len(name) and aliases[0].endswith(("县", "区", "市")):
        return aliases[0]
    return name


def _ago(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours >= 48:
        return f"{hours / 24:.0f}天"
    if hours >= 1:
        return f"{hours:.0f}小时"
    return f"{max(1, round(hours * 60))}分钟"


def _iso(at: datetime | None) -> str | None:
    return at.astimezone(SHANGHAI).isoformat() if at is not None else None
