"""舆情态势 (GET /situation), its figures as JSON (GET /api/situation) and as an Excel workbook
(GET /situation.xlsx), for every signed-in user, over today, 7 or 30 days or chosen dates. The
page writes the numbers and tables itself and leaves the charts to /static/situation.js, which
reads the JSON with the same query; the workbook's text is de-identified like the reports."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from aiohttp import web

from monitor.analyze.analyzer import Analyzer
from monitor.clock import SHANGHAI, Clock
from monitor.config import SourceList
from monitor.evaluate.reports import Context
from monitor.incidents.intake import INTAKE_SOURCE
from monitor.store import Store
from monitor.store.situation import health_count, health_items
from monitor.web.auth import CSRF, USER, signed_user
from monitor.web.pages import COUNTDOWN, html_page
from monitor.web.periods import PERIODS, Period, PeriodError, parse_period
from monitor.web.situation_data import MEDIA_NAMES, SituationData
from monitor.web.templates import render
from monitor.web.xlsx import Cell, Sheet, workbook

log = logging.getLogger(__name__)

TITLE = "舆情态势"
WARM_AFTER_S = 10.0  # after the start's own work; an app that lives less does not bother
WARM_DAYS = 30
MAX_ROWS = 50_000  # item rows in a workbook: Excel opens it in seconds, and nobody reads more
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SCRIPTS = ("<script src=/static/echarts.min.js></script>"
           "<script src=/static/echarts-wordcloud.min.js></script>"
           "<script src=/static/situation.js></script>" + COUNTDOWN)


class SituationPages:
    def __init__(self, store: Store, analyzer: Analyzer, sources: SourceList, clock: Clock,
                 context: Callable[[datetime], Context], max_interval_s: int) -> None:
        self.store, self.clock, self.context = store, clock, context
        self.data = SituationData(store, analyzer, sources, max_interval_s)
        self._warming: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Count the last 30 days in the background a little after the service starts: the
        first reading of a month of items takes a second or more, and the first leader to
        open the page should not wait for it."""
        self._warming = asyncio.create_task(self._warm(), name="situation-warm")

    async def close(self) -> None:
        if self._warming is not None:
            self._warming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._warming

    async def _warm(self) -> None:
        # real seconds, not the service's clock (a simulated one would jump instead)
        await asyncio.sleep(WARM_AFTER_S)
        started = time.monotonic()
        try:
            await self.data.warm(self.clock.now().astimezone(SHANGHAI).date(), WARM_DAYS)
        except Exception:  # whatever it was, the page counts those days when asked
            log.warning("could not count the last %d days for the situation page ahead of "
                        "time; it counts them when first asked", WARM_DAYS, exc_info=True)
            return
        log.info("situation page: the last %d days counted in %.1f s", WARM_DAYS,
                 time.monotonic() - started)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/situation", self.page), web.get("/api/situation", self.api),
                web.get("/situation.xlsx", self.export)]

    def _period(self, request: web.Request) -> Period:
        today = self.clock.now().astimezone(SHANGHAI).date()
        return parse_period(request.query, today)

    async def page(self, request: web.Request) -> web.Response:
        user = signed_user(request)
        try:
            period = self._period(request)
        except PeriodError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        now = self.clock.now()
        s = await self.data.situation(period, now)
        body = render("situation.html", s=s, kpis=_kpis(s), minute=_minute,
                      periods=[(k, name) for k, (name, _) in PERIODS.items()],
                      today=str(now.astimezone(SHANGHAI).date()),
                      generated=now.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"))
        return html_page(TITLE, body, user, request[CSRF], now, SCRIPTS)

    async def api(self, request: web.Request) -> web.Response:
        if request.get(USER) is None:
            return web.json_response({"error": "sign in first"}, status=401)
        try:
            period = self._period(request)
        except PeriodError as exc:
            return web.json_response({"error": str(exc)}, status=400, dumps=_dumps)
        return web.json_response(await self.data.situation(period, self.clock.now()),
                                 dumps=_dumps)

    async def export(self, request: web.Request) -> web.Response:
        signed_user(request)
        try:
            period = self._period(request)
        except PeriodError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        now = self.clock.now()
        s = await self.data.situation(period, now)
        rows, total = await self.store.run(
            lambda c: (health_items(c, period.span, MAX_ROWS), health_count(c, period.span)))
        ctx = self.context(now)
        # masking tens of thousands of titles and writing the file are CPU work
        body = await asyncio.to_thread(self._workbook, s, rows, total, ctx)
        name = f"舆情态势_{period.first}_{period.last}.xlsx"
        fallback = f"situation_{period.first}_{period.last}.xlsx"
        return web.Response(body=body, headers={
            "Content-Type": XLSX,
            "Content-Disposition": f"attachment; filename=\"{fallback}\"; "
                                   f"filename*=UTF-8''{quote(name)}"})

    def _workbook(self, s: dict[str, Any], rows: Sequence[Any], total: int,
                  ctx: Context) -> bytes:
        capped = total > len(rows)
        listed = (f"共{total:,}条，仅列出前{len(rows):,}条" if capped else f"共{total:,}条")
        overview: list[list[Cell]] = [[name, value] for name, value, _ in _kpis(s)]
        overview += [
            ["期间", f"{s['period']['label']}，北京时间"],
            ["统计时间", s["generated_at"][:16].replace("T", " ")],
            ["情感划分", _tones(s["thresholds"])],
            ["信息列表", listed],
            ["说明", "信息列表为健康相关信息；标题与事件名称中的个人信息已去标识化。"]]
        items: list[list[Cell]] = [self._item_row(r, ctx) for r in rows]
        if capped:
            items.append([None, None, None, f"（{listed}）"])
        health = s["kpis"]["health"] or 1
        return workbook([
            Sheet("概览", ("指标", "数值"), overview, (20, 70)),
            Sheet("信息列表", ("时间", "来源", "媒体类型", "标题", "领域", "负面程度", "地区"),
                  items, (17, 18, 10, 70, 20, 10, 18)),
            Sheet("领域分布", ("领域", "信息数", "占比"),
                  [[t["name"], t["value"], _share(t["value"], health)] for t in s["topics"]],
                  (22, 10, 10)),
            Sheet("媒体分布", ("媒体类型", "信息数", "占比"),
                  [[m["name"], m["value"], _share(m["value"], health)] for m in s["media"]],
                  (14, 10, 10)),
            Sheet("地区分布", ("地区", "信息数"),
                  [[r["name"], r["value"]] for r in s["regions"]], (34, 10)),
            Sheet("热词", ("排名", "热词", "信息数"),
                  [[n, w["word"], w["count"]] for n, w in enumerate(s["hot_words"], 1)],
                  (8, 20, 10)),
            Sheet("重点事件", ("编号", "事件", "级别", "状态", "领域", "地区", "热度", "信息数",
                               "下一时限", "截止时间"),
                  [[i["id"], ctx.mask(i["title"]), i["level_name"], i["status_name"],
                    "、".join(i["topics"]), i["region"], i["heat"], i["items"],
                    i["next_deadline"]["label"] if i["next_deadline"] else "",
                    datetime.fromisoformat(i["next_deadline"]["due"])
                    if i["next_deadline"] else None] for i in s["top_incidents"]],
                  (8, 50, 16, 10, 20, 14, 8, 8, 18, 17))])

    def _item_row(self, row: Any, ctx: Context) -> list[Cell]:
        title = ctx.mask(row.title)
        topics = "、".join(self.data.topics.get(t["key"], t["key"]) for t in json.loads(row.topics))
        source = "人工录入" if row.source == INTAKE_SOURCE else row.source
        media = MEDIA_NAMES.get(self.data.media_key(row.source), "其他")
        return [row.fetched_at, source, media, (title, row.url), topics,
                round(float(row.negative), 2), self.data.region_label(json.loads(row.places))]


def _kpis(s: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(name, value, note) of each KPI card, as the page and the workbook show them."""
    k = s["kpis"]
    return [("采集信息", f"{k['items']:,}", "条"), ("健康相关", f"{k['health']:,}", "条"),
            ("负面占比", f"{k['negative_share']:.1%}", f"负面{k['negative']:,}条"),
            ("新发事件", f"{k['incidents_opened']:,}", "起"),
            ("当前未结事件", f"{k['incidents_open']:,}", "起"),
            ("超时时限", f"{k['deadlines_missed']:,}", "个")]


def _tones(t: dict[str, float]) -> str:
    return (f"健康相关信息按负面概率划分：≥{t['negative_at']} 负面，{t['positive_below']}–"
            f"{t['negative_at']} 中性，<{t['positive_below']} 正面（无负面倾向）")


def _share(n: int, total: int) -> str:
    return f"{n / total:.1%}"


def _minute(iso: str | None) -> str:
    if not iso:
        return "—"
    return datetime.fromisoformat(iso).astimezone(SHANGHAI).strftime("%m-%d %H:%M")


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)
