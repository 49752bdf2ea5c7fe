"""Items (search and label feedback), sources (their health) and watch plans (their recent
matches)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from sqlalchemy import Connection, select

from monitor.analyze.analyzer import Analyzer
from monitor.analyze.text import normalize
from monitor.clock import SHANGHAI, Clock, local_minute
from monitor.config import SourceList
from monitor.errors import FAULTS
from monitor.records import FetchStatus
from monitor.store import Store
from monitor.store.incidents import incidents_of_items
from monitor.store.labels import Label, add_label
from monitor.store.schema import items, signals
from monitor.store.search import search_items
from monitor.store.sources import all_health
from monitor.web.auth import CSRF, USER, signed_user
from monitor.web.pages import ACTORS, html_page, safe_href
from monitor.web.templates import render

LABELLERS = ("duty_officer", "admin")
HEALTH = {"ok": "正常", "not_modified": "无更新", "error": "失败", "gone": "已下线",
          "busy": "主机繁忙，排队等待"}
MEDIA = {"central": "中央媒体", "provincial": "省级媒体", "local": "地方媒体",
         "government": "政府网站", "social": "社交媒体", "forum": "论坛留言板", "hotline": "热线",
         "unknown": "其他"}


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


class Browse:
    def __init__(self, store: Store, analyzer: Analyzer, sources: SourceList,
                 clock: Clock) -> None:
        self.store, self.analyzer, self.sources, self.clock = store, analyzer, sources, clock
        self.topics = {t.key: t.name for t in analyzer.topics}

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/items", self.items), web.post("/items/{id}/label", self.label),
                web.get("/sources", self.source_health), web.get("/plans", self.plans),
                web.get("/api/items", self.items_json), web.get("/api/sources", self.sources_json),
                web.get("/api/plans", self.plans_json)]

    async def items_json(self, request: web.Request) -> web.Response:
        if request.get(USER) is None:
            return web.json_response({"error": "sign in first"}, status=401)
        query = request.query.get("q", "").strip()[:200]
        words = self.analyzer.segmenter.words(normalize(query)) if query else []
        rows = await self.store.run(lambda c: search_items(c, words)) if words else []
        return web.json_response([{
            "id": r["id"], "title": r["title"], "url": r["url"], "source": r["source"],
            "fetched_at": r["fetched_at"].astimezone(SHANGHAI).isoformat(),
            "health_score": r["health_score"], "negative": r["negative"],
            "topics": [t["key"] for t in json.loads(r["topics"] or "[]")]} for r in rows],
            dumps=_dumps)

    async def sources_json(self, request: web.Request) -> web.Response:
        if request.get(USER) is None:
            return web.json_response({"error": "sign in first"}, status=401)
        health = await self.store.run(all_health)
        return web.json_response([{
            "name": s.name, "media": s.media.value, "region": s.region, "enabled": s.enabled,
            "status": h.status.value if h and h.status else None,
            "last_success_at": h.last_success_at.isoformat() if h and h.last_success_at else None,
            "consecutive_failures": h.consecutive_failures if h else 0,
            "fault": h.fault if h else None, "assumed": list(s.assumed),
            "last_error": h.last_error if h else None}
            for s in self.sources.sources for h in [health.get(s.name)]], dumps=_dumps)

    async def items(self, request: web.Request) -> web.Response:
        user = signed_user(request)
        query = request.query.get("q", "").strip()[:200]
        words = self.analyzer.segmenter.words(normalize(query)) if query else []
        rows, filed = await self.store.run(lambda c: _found(c, words)) if words else ([], {})
        shown = [{"id": row["id"], "when": local_minute(row["fetched_at"]),
                  "source": row["source"], "title": row["title"],
                  "href": safe_href(row["url"]), "incident": filed.get(row["id"]),
                  "topics": "、".join(self.topics.get(t["key"], t["key"])
                                     for t in json.loads(row["topics"] or "[]"))}
                 for row in rows]
        body = render("items.html", query=query, rows=shown, csrf=request[CSRF],
                      topics=self.topics, can_label=user.role in LABELLERS,
                      can_open=user.role in ACTORS)
        return html_page("信息检索", body, user, request[CSRF], self.clock.now())

    async def label(self, request: web.Request) -> web.Response:
        user = signed_user(request)
        if user.role not in LABELLERS:
            raise web.HTTPForbidden(text="仅值班员、管理员可标注")
        form = await request.post()
        topic = str(form.get("topic") or "")
        if topic and topic not in self.topics:
            raise web.HTTPBadRequest(text=f"未知领域 {topic}")
        label = Label(int(request.match_info["id"]), form.get("relevant") == "1",
                      (topic,) if topic else None, None, user.display_name, self.clock.now())
        await self.store.run(lambda c: add_label(c, label))
        raise web.HTTPSeeOther(request.headers.get("Referer", "/items"))

    async def source_health(self, request: web.Request) -> web.Response:
        user = signed_user(request)
        health = await self.store.run(all_health)
        rows = []
        for source in self.sources.sources:
            h = health.get(source.name)
            state = "未启用" if not source.enabled else (
                HEALTH.get(h.status.value, h.status.value) if h and h.status else "未抓取")
            if h and h.status is FetchStatus.ERROR and h.fault in FAULTS:
                state += f"（{FAULTS[h.fault]}）"
            rows.append({"name": source.name, "state": state,
                         "media": MEDIA.get(source.media.value, source.media.value),
                         "media_assumed": "media" in source.assumed,
                         "region": source.region, "region_assumed": "region" in source.assumed,
                         "last_success": local_minute(h.last_success_at if h else None),
                         "failures": h.consecutive_failures if h else 0,
                         "error": (h.last_error or "") if h else ""})
        body = render("sources.html", rows=rows,
                      any_assumed=any(s.assumed for s in self.sources.sources))
        return html_page("信息来源", body, user, request[CSRF], self.clock.now())

    async def _matches(self) -> dict[str, list[Any]]:
        """The latest items that hit each watch plan, with the words matched."""
        def recent(conn: Connection) -> list[Any]:
            return list(conn.execute(
                select(items.c.id, items.c.title, items.c.url, items.c.fetched_at,
                       signals.c.plans)
                .join(signals, signals.c.item_id == items.c.id)
                .where(signals.c.plans != "[]").order_by(items.c.id.desc()).limit(500)))

        matches: dict[str, list[Any]] = {}
        for row in await self.store.run(recent):
            for plan in json.loads(row.plans):
                matches.setdefault(plan["name"], []).append((row, plan["matched"]))
        return matches

    async def plans_json(self, request: web.Request) -> web.Response:
        if request.get(USER) is None:
            return web.json_response({"error": "sign in first"}, status=401)
        matches = await self._matches()
        return web.json_response([{
            "name": plan.name, "scope": plan.scope, "words": list(plan.words),
            "recent": [{"item": row.id, "title": row.title, "url": row.url, "matched": words,
                        "fetched_at": row.fetched_at.astimezone(SHANGHAI).isoformat()}
                       for row, words in matches.get(plan.name, [])[:10]]}
            for plan in self.analyzer.plans.plans], dumps=_dumps)

    async def plans(self, request: web.Request) -> web.Response:
        user = signed_user(request)
        matches = await self._matches()
        plans = [{"name": plan.name, "words": "、".join(plan.words),
                  "scope": "标题" if plan.scope == "title" else "全文",
                  "hits": len(matches.get(plan.name, [])),
                  "recent": [{"when": local_minute(row.fetched_at), "title": row.title,
                              "href": safe_href(row.url), "words": "、".join(words)}
                             for row, words in matches.get(plan.name, [])[:10]]}
                 for plan in self.analyzer.plans.plans]
        body = render("plans.html", plans=plans)
        return html_page("监测方案", body, user, request[CSRF], self.clock.now())


def _found(conn: Connection, words: list[str]) -> tuple[list[dict[str, Any]], dict[int, int]]:
    """The search's items, and which of them are in which incident."""
    rows = search_items(conn, words)
    return rows, incidents_of_items(conn, [r["id"] for r in rows])
