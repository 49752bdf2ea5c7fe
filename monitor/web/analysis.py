"""事件分析 on the incident page: how the incident went hour by hour with the response marked
on the same time axis, how it spread from its first post, its key posts, hot words, media types
and districts. One set of figures (``figures``) is both the JSON the page's charts draw from
(/api/incidents/{id}/analysis, drawn by static/incident.js with ECharts) and the text lists the
page prints (templates/incident_analysis.html), so the screen, the paper and the API agree.

The store computes the counts (monitor/store/analysis.py); lists are capped so that an
incident of thousands of items costs the same few rows as one of twenty."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from aiohttp import web
from sqlalchemy import Connection

from monitor.analyze.analyzer import Analyzer
from monitor.analyze.tokens import is_feature
from monitor.clock import SHANGHAI, Clock, local_minute
from monitor.config import SourceList
from monitor.evaluate.reports import Context
from monitor.incidents.intake import INTAKE_SOURCE
from monitor.records import Incident, Media, TimelineEvent
from monitor.store import Store
from monitor.store import analysis as sql
from monitor.store.incidents import get_incident
from monitor.store.response import deadlines_of
from monitor.web.auth import USER, signed_user
from monitor.web.browse import MEDIA
from monitor.web.pages import safe_href
from monitor.web.templates import render
from monitor.web.xlsx import workbook
from monitor.wording import BY_HAND, LEVELS, MILESTONES, STATUS

# A share of a handful of items jumps between 0 and 100 %: an hour with fewer scored items
# than this borrows the hours before it until it has as many, at most LOOKBACK_HOURS back.
MIN_ITEMS = 10
LOOKBACK_HOURS = 24
LISTED = 10  # posts in each list of key posts, reposts in the reach list
SOURCES_DRAWN = 30  # sources in the propagation chart and its list; the export has all
TITLES_READ = 2000  # distinct titles segmented for the hot words, the commonest first
WORDS_DRAWN, WORDS_LISTED = 60, 20
CACHED = 64  # incidents whose figures are kept while unchanged
EXPORTERS = ("duty_officer", "leader", "evaluator", "admin")
LEVEL_COLOURS = {"I": "#c62828", "II": "#ef6c00", "III": "#f9a825", "IV": "#1e63c4"}
NO_LEVEL_COLOUR = "#607d8b"
MEDIA_ORDER = [m.value for m in Media]
HAND = "intake"  # the media key of reports entered by hand
MEDIA_NAMES = {**MEDIA, HAND: "人工录入"}
DEADLINE_STATES = {"pending": "进行中", "met": "已完成", "missed": "已超时", "cancelled": "已取消"}
OPENED_BY_SYSTEM = "发现立案"
# words that say how a post was copied, not what it says, and a few that say nothing in a
# title (the stop word list is made for the classifier, which weighs them anyway)
NOT_HOT = frozenset({"转发", "转载", "来源", "原标题", "网友", "记者", "报道", "消息", "视频",
                     "关于", "有人", "好多", "一个", "几个", "还有", "这边", "这个", "什么",
                     "怎么", "如何", "今天", "昨天", "目前", "已经", "一起", "一名"})
_NUMBER = re.compile(r"[\d.,%:：]+")
SCRIPTS = ("<script src=/static/echarts.min.js></script>"
           "<script src=/static/echarts-wordcloud.min.js></script>"
           "<script src=/static/incident.js></script>")


def _iso(at: datetime | None) -> str | None:
    return at.astimezone(SHANGHAI).isoformat() if at is not None else None


def _share(total: float, count: int) -> float | None:
    return round(total / count, 3) if count else None


class IncidentAnalysis:
    def __init__(self, store: Store, analyzer: Analyzer, sources: SourceList,
                 context: Callable[[datetime], Context], clock: Clock) -> None:
        self.store, self.context, self.clock = store, context, clock
        self.sources = {s.name: s for s in sources.sources}
        self.segmenter = analyzer.segmenter
        self.region_of = {p.name: p.region for p in analyzer.profile.places if p.region}
        self.topics = {t.key: t.name for t in analyzer.topics}
        self.cache_size = CACHED
        self._cache: OrderedDict[int, tuple[tuple[Any, ...], dict[str, Any]]] = OrderedDict()

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/api/incidents/{id}/analysis", self.analysis_json),
                web.get("/incidents/{id}/items.xlsx", self.items_xlsx)]

    # --- who said it -------------------------------------------------------------------------

    def media_of(self, source: str) -> str:
        if source == INTAKE_SOURCE:
            return HAND
        known = self.sources.get(source)
        return known.media.value if known is not None else Media.UNKNOWN.value

    def weight_of(self, source: str) -> float:
        known = self.sources.get(source)
        return known.weight if known is not None else 1.0

    @staticmethod
    def source_name(source: str) -> str:
        return "人工录入" if source == INTAKE_SOURCE else source

    def post(self, p: sql.Post) -> dict[str, Any]:
        media = self.media_of(p.source)
        return {"id": p.id, "title": p.title, "url": safe_href(p.url), "source": p.source,
                "source_name": self.source_name(p.source), "media": media,
                "media_name": MEDIA_NAMES[media], "at": _iso(p.at),
                "negative": None if p.negative is None else round(p.negative, 3),
                "repost": p.original is not None, "reposts": p.reposts}

    # --- the figures -------------------------------------------------------------------------

    def figures(self, conn: Connection, incident_id: int) -> dict[str, Any] | None:
        """Everything the section shows, as JSON-ready values; None for no such incident.

        The page and then its script ask for the same figures, and several people may
        watch one incident: they are kept while the incident's version stays (its record,
        its newest timeline event, how many items it holds and how many of them are
        analysed), since whatever changes the figures changes one of these. Called on the
        store's one thread only, so the cache needs no lock."""
        incident = get_incident(conn, incident_id)
        if incident is None:
            return None
        version = (incident, sql.version(conn, incident_id))
        kept = self._cache.get(incident_id)
        if kept is not None and kept[0] == version:
            self._cache.move_to_end(incident_id)
            return kept[1]
        data = self._figures(conn, incident)
        self._cache[incident_id] = (version, data)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return data

    def _figures(self, conn: Connection, incident: Incident) -> dict[str, Any]:
        incident_id = incident.id
        hours = sql.hourly(conn, incident_id)
        carriers = sql.carriers(conn, incident_id)
        events = sql.events_of(conn, incident_id, ("opened", "milestone_recorded"))
        official_sources = {name for name in (c.source for c in carriers)
                            if self.media_of(name) == Media.GOVERNMENT.value}
        regions, unnamed = sql.regions(conn, incident_id, self.region_of)
        level = incident.level or incident.proposed_level
        milestones = self._milestones(events)
        return {
            "id": incident.id, "title": incident.title, "status": incident.status.value,
            "status_name": STATUS.get(incident.status.value, ""), "level": level,
            "level_confirmed": incident.level is not None,
            "level_name": LEVELS.get(level or "", "待定级"),
            "colour": LEVEL_COLOURS.get(level or "", NO_LEVEL_COLOUR),
            "items": sum(h.items for h in hours), "reposts": sum(h.reposts for h in hours),
            "sources": len(carriers), "negative_share": incident.negative_share,
            "region": incident.region,
            "topics": [self.topics.get(t, t) for t in incident.topics],
            "min_items": MIN_ITEMS, "lookback_hours": LOOKBACK_HOURS,
            "hourly": hourly_series(hours),
            "opened": self._opened(events, incident),
            "milestones": milestones,
            "deadlines": [{
                "key": d.key, "label": d.label, "due": _iso(d.due_at), "status": d.status,
                "state": DEADLINE_STATES.get(d.status, d.status), "met_at": _iso(d.met_at),
                "hard": d.hard} for d in deadlines_of(conn, incident_id)],
            "spread": self._spread(conn, carriers),
            "key_posts": {
                "negative": [self.post(p) for p in sql.most_negative(conn, incident_id, LISTED)],
                "reposted": [self.post(p) for p in sql.most_reposted(conn, incident_id, LISTED)],
                "official": self._official(sql.from_sources(conn, incident_id, official_sources,
                                                            LISTED), milestones)},
            "words": self.hot_words(sql.titles(conn, incident_id, TITLES_READ)),
            "media": self.media_split(carriers),
            "regions": [{"name": name, "items": n} for name, n in regions.most_common()],
            "regions_none": unnamed,
        }

    @staticmethod
    def _milestones(events: list[TimelineEvent]) -> list[dict[str, Any]]:
        found = []
        for e in events:
            if e.type != "milestone_recorded":
                continue
            d = e.data
            when = datetime.fromisoformat(str(d["time"])) if isinstance(d.get("time"), str) \
                else e.at  # the evidence's time, when it was entered afterwards (补录)
            found.append({"at": _iso(when), "kind": d.get("kind"),
                          "label": MILESTONES.get(str(d.get("kind")), "处置节点"),
                          "url": safe_href(str(d.get("url", ""))),
                          "document": str(d.get("document", "")) or None,
                          "actor": "系统" if e.actor == "system" else e.actor})
        return sorted(found, key=lambda m: str(m["at"]))

    @staticmethod
    def _opened(events: list[TimelineEvent], incident: Incident) -> dict[str, Any]:
        opened = next((e for e in events if e.type == "opened"), None)
        if opened is None:  # an incident older than its timeline: its record says when
            return {"at": _iso(incident.opened_at), "by_hand": False, "label": OPENED_BY_SYSTEM,
                    "channel": None}
        by_hand = bool(opened.data.get("by_hand"))
        return {"at": _iso(opened.at), "by_hand": by_hand,
                "label": BY_HAND if by_hand else OPENED_BY_SYSTEM,
                "channel": opened.data.get("channel") if by_hand else None}

    def _spread(self, conn: Connection, carriers: list[sql.Carrier]) -> dict[str, Any]:
        """首发, then each source in the order it first carried the incident, and the
        reposts on the heaviest sources (a source's weight in sources.yaml is its reach)."""
        firsts = {c.first.id: c.source for c in carriers}
        wanted = {p.original for c in carriers for p in (c.first, c.first_repost)
                  if p is not None and p.original is not None} - set(firsts)
        origins = {**firsts, **{i: p.source for i, p in sql.posts_by_id(conn, wanted).items()}}
        rows = []
        for c in carriers[:SOURCES_DRAWN]:
            media = self.media_of(c.source)
            copied = c.first_repost.original if c.first_repost is not None else None
            rows.append({"source": c.source, "name": self.source_name(c.source),
                         "media": media, "media_name": MEDIA_NAMES[media],
                         "weight": self.weight_of(c.source), "at": _iso(c.first.at),
                         "items": c.items, "post": self.post(c.first),
                         "from": origins.get(copied) if copied is not None else None})
        reposts = [(c.source, c.first_repost) for c in carriers if c.first_repost is not None]
        reach = sorted(reposts, key=lambda r: (-self.weight_of(r[0]), r[1].at, r[1].id))
        return {"first": self.post(carriers[0].first) if carriers else None,
                "sources": rows, "more_sources": max(0, len(carriers) - SOURCES_DRAWN),
                "reach": [{**self.post(p), "weight": self.weight_of(source),
                           "from": origins.get(p.original or 0)}
                          for source, p in reach[:LISTED]]}

    def _official(self, posts: list[sql.Post], milestones: list[dict[str, Any]]
                  ) -> list[dict[str, Any]]:
        """Government sites' items, and the releases recorded as milestones with a link."""
        found = [self.post(p) for p in posts]
        seen = {p["url"] for p in found}
        for m in milestones:
            if m["url"] and m["url"] not in seen:
                seen.add(m["url"])
                found.append({"id": None, "title": f"{m['label']}（{m['actor']}记录）",
                              "url": m["url"], "source": None, "source_name": "处置节点",
                              "media": None, "media_name": "处置节点", "at": m["at"],
                              "negative": None, "repost": False, "reposts": 0})
        return sorted(found, key=lambda p: str(p["at"]))

    def media_split(self, carriers: list[sql.Carrier]) -> list[dict[str, Any]]:
        counts: Counter[str] = Counter()
        for c in carriers:
            counts[self.media_of(c.source)] += c.items
        order = [*MEDIA_ORDER, HAND]
        return [{"key": k, "name": MEDIA_NAMES[k], "items": counts[k]}
                for k in order if counts[k]]

    def hot_words(self, titles: Iterable[tuple[str, int]]) -> list[dict[str, Any]]:
        """Words of the titles, each counted once per item that carries it; stop words,
        numbers, single characters and the words of copying left out. Each token is judged
        once: the titles of one incident repeat their words."""
        counts: Counter[str] = Counter()
        judged: dict[str, str] = {}  # token → the word it counts as, "" for none
        stop = self.segmenter.stopwords
        for title, n in titles:
            found = set()
            for token in self.segmenter.words(title):
                word = judged.get(token)
                if word is None:
                    word = token.strip("#@")
                    if len(word) < 2 or not is_feature(word, stop) or word in NOT_HOT \
                            or _NUMBER.fullmatch(word):
                        word = ""
                    judged[token] = word
                if word:
                    found.add(word)
            for word in found:
                counts[word] += n
        return [{"word": w, "count": n} for w, n in counts.most_common(WORDS_DRAWN)]

    # --- the page, the JSON and the workbook -------------------------------------------------

    async def section(self, incident: Incident) -> tuple[str, str]:
        """The 事件分析 section of the incident page, and the scripts that draw its charts."""
        data = await self.store.run(lambda c: self.figures(c, incident.id))
        if data is None:  # removed between the page's read and this one
            return "", ""
        html = render("incident_analysis.html", a=data, minute=_minute,
                      percent=_percent, words_listed=WORDS_LISTED)
        return html, SCRIPTS

    async def analysis_json(self, request: web.Request) -> web.Response:
        if request.get(USER) is None:
            return web.json_response({"error": "sign in first"}, status=401)
        incident_id = _incident_id(request)
        data = await self.store.run(lambda c: self.figures(c, incident_id)) \
            if incident_id is not None else None
        if data is None:
            return web.json_response({"error": f"no incident #{request.match_info['id']}"},
                                     status=404)
        return web.json_response(data, dumps=lambda v: json.dumps(v, ensure_ascii=False))

    async def items_xlsx(self, request: web.Request) -> web.Response:
        # here, not at the top: the sheets are built from this module's figures
        from monitor.web.incident_xlsx import read, sheets

        user = signed_user(request)
        if user.role not in EXPORTERS:
            raise web.HTTPForbidden(text="仅值班员、领导、考核人员、管理员可导出")
        incident_id = _incident_id(request)
        data = await self.store.run(lambda c: read(c, incident_id, self.region_of)) \
            if incident_id is not None else None
        if data is None:
            raise web.HTTPNotFound(text="没有这个事件")
        ctx = self.context(self.clock.now())
        # masking and writing thousands of rows take seconds for a large incident: on a
        # thread of their own, so that neither the event loop nor the store waits
        body = await asyncio.to_thread(lambda: workbook(sheets(data, self, ctx)))
        name = f"事件{incident_id}_信息.xlsx"
        return web.Response(body=body, headers={
            "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "Content-Disposition": f"attachment; filename=\"incident-{incident_id}-items.xlsx\"; "
                                   f"filename*=UTF-8''{quote(name)}"})


def _incident_id(request: web.Request) -> int | None:
    try:
        return int(request.match_info["id"])
    except ValueError:
        return None


def hourly_series(hours: list[sql.Hour]) -> list[dict[str, Any]]:
    """Every hour from the first item's to the last one's, with its items and negative share.
    The share of an hour with fewer than MIN_ITEMS scored items is taken over it and the
    hours before it until they hold that many (at most LOOKBACK_HOURS); without that many,
    none: ``basis`` says over how many items, ``span`` over how many hours."""
    if not hours:
        return []
    by_hour = {h.at: h for h in hours}
    start, end = hours[0].at, hours[-1].at
    out = []
    at = start
    while at <= end:
        h = by_hour.get(at)
        share, basis, span = None, 0, 0
        if h is not None:
            total, scored = 0.0, 0
            for back in range(LOOKBACK_HOURS):
                past = by_hour.get(at - timedelta(hours=back))
                if past is not None:
                    total, scored = total + past.negative_sum, scored + past.scored
                if scored >= MIN_ITEMS:
                    share, basis, span = _share(total, scored), scored, back + 1
                    break
        items = h.items if h else 0
        reposts = h.reposts if h else 0
        out.append({"hour": _iso(at), "items": items, "originals": items - reposts,
                    "reposts": reposts, "negative_share": share, "basis": basis, "span": span})
        at += timedelta(hours=1)
    return out


def _minute(iso: str | None) -> str:
    return local_minute(datetime.fromisoformat(iso)) if iso else "—"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"
