"""The board and the incident page, rendered on the server in Chinese (Asia/Shanghai time).
Every string that came from a feed or a person is escaped; links are kept only when they are
http(s). Every page is in the one layout of templates/base.html, with the stylesheet and the
chart library served by the service itself (/static/), so nothing is loaded from another host."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from markupsafe import Markup
from sqlalchemy import Connection

from monitor import charts
from monitor.analyze.lexicon import load_taxonomy
from monitor.clock import SHANGHAI, Clock, local_minute
from monitor.incidents.engine import MILESTONE_KINDS, ActionError
from monitor.incidents.intake import INTAKE_SOURCE
from monitor.incidents.stage import IncidentStage
from monitor.records import Deadline, Incident, IncidentStatus, TimelineEvent
from monitor.response.roster import Roster
from monitor.store import Store
from monitor.store.analysis import events_of, page_items
from monitor.store.incidents import (
    get_incident,
    incident_item_rows,
    latest_event_id,
    list_incidents,
    recent_counts,
    timeline_of,
)
from monitor.store.response import deadlines_of, get_clock, pending_deadlines
from monitor.web.auth import CSRF, ROLE_NAMES, USER, signed_user
from monitor.web.templates import render
from monitor.wording import BY_HAND, EVENTS, LEVELS, MILESTONES, OPENED_ON, STATUS

LIVE = [IncidentStatus.OPEN, IncidentStatus.CONFIRMED, IncidentStatus.RESPONDING]
ACTORS = ("duty_officer", "admin")
REPORT_READERS = ("leader", "evaluator", "admin")
BOARD_TTL_S = 15.0  # heat decays without timeline events; the board is at most this stale
# The pages' scripts, served from /static (the security policy runs no inline script).
COUNTDOWN_JS = """const skew=Date.parse(document.body.dataset.now)-Date.now();
function tick(){const now=Date.now()+skew;document.querySelectorAll('[data-due]').forEach(el=>{
const left=Math.round((Date.parse(el.dataset.due)-now)/60000);
el.className=left<0?'due-missed':(left<=60?'due-near':'due-ok');
el.textContent=left<0?('已超时'+(-left)+'分钟'):('剩余'+Math.floor(left/60)+'小时'+(left%60)+'分钟');});}
tick();setInterval(tick,1000);
"""
# the board refreshes itself without a reload
BOARD_JS = """setInterval(async()=>{const r=await fetch('/board');
if(r.ok){const d=new DOMParser().parseFromString(await r.text(),'text/html');
document.querySelector('table').replaceWith(d.querySelector('table'));tick();}},15000);
"""
SCRIPTS = {"countdown.js": COUNTDOWN_JS, "board.js": BOARD_JS}
COUNTDOWN = "<script src=/static/countdown.js></script>"


ASSETS_DIR = Path(__file__).resolve().parent / "static"
ASSETS = {"monitor.css": "text/css", "echarts.min.js": "text/javascript",
          "echarts-wordcloud.min.js": "text/javascript",
          "incident.js": "text/javascript", "situation.js": "text/javascript"}


async def static_script(request: web.Request) -> web.StreamResponse:
    """The pages' own scripts, our stylesheet and the vendored chart library: only these
    names, never a path into the package."""
    name = request.match_info["name"]
    if name in SCRIPTS:
        return web.Response(text=SCRIPTS[name], content_type="text/javascript",
                            charset="utf-8")
    if name in ASSETS:
        # ours lie in static/, the vendored libraries in static/vendor/
        folder = ASSETS_DIR if (ASSETS_DIR / name).is_file() else ASSETS_DIR / "vendor"
        return web.Response(body=(folder / name).read_bytes(), content_type=ASSETS[name],
                            charset="utf-8")
    raise web.HTTPNotFound()


def safe_href(url: str) -> str | None:
    return url if urlsplit(url).scheme in ("http", "https") else None


def html_page(title: str, body: str, user: Any, csrf: str, now: datetime, script: str = ""
              ) -> web.Response:
    """A page in the one layout (templates/base.html). ``body`` and ``script`` are markup the
    caller built with every value escaped; the countdowns run on the service's clock, so the
    page says what time it is there."""
    who = f"{user.display_name}（{ROLE_NAMES.get(user.role, user.role)}）" if user else ""
    return web.Response(content_type="text/html", charset="utf-8", text=render(
        # the body and scripts were escaped where they were built
        "base.html", title=title, body=Markup(body), scripts=Markup(script), user=who,  # noqa: S704
        csrf=csrf, now=now.isoformat(), can_act=bool(user and user.role in ACTORS),
        can_read_reports=bool(user and user.role in REPORT_READERS)))


def _level(incident: Incident) -> str:
    if incident.level:
        return LEVELS.get(incident.level, incident.level)
    return f"建议{LEVELS.get(incident.proposed_level or '', '待定级')}"


def _next_deadline(deadlines: Sequence[Deadline]) -> Deadline | None:
    pending = [d for d in deadlines if d.status == "pending"]
    return min(pending, key=lambda d: d.due_at) if pending else None


def _countdown(deadline: Deadline | None) -> str:
    if deadline is None:
        return "<span class=muted>—</span>"
    due = deadline.due_at.astimezone(SHANGHAI).isoformat()
    return (f"{escape(deadline.label)} 截止{local_minute(deadline.due_at)} "
            f"<span data-due='{escape(due)}'></span>")


class Pages:
    def __init__(self, store: Store, incidents: IncidentStage, roster: Roster,
                 clock: Clock) -> None:
        self.store, self.incidents, self.roster, self.clock = store, incidents, roster, clock
        self.topics = {t.key: t.name for t in load_taxonomy()}
        self._board: tuple[float, int, asyncio.Future[Any]] | None = None
        # which part this process plays, for the foot of the board (two machines)
        self.role: Callable[[], tuple[str, str]] = lambda: ("leader", "")
        # 事件分析 of the incident page (web/analysis.py), set by the app: its section's markup
        # and scripts; without it the page draws its server-side chart
        self.analysis: Callable[[Incident], Awaitable[tuple[str, str]]] | None = None

    def routes(self) -> list[web.RouteDef]:
        # here, not at the top: the intake forms are pages built on this module's html_page
        from monitor.web.intake import IntakeForms

        # /incidents/new before /incidents/{id}, which would take "new" for an id
        intake = IntakeForms(self.store, self.incidents, self.roster, self.clock).routes()
        return [*intake, web.get("/", self.home), web.get("/board", self.board),
                web.get("/api/board", self.board_json), web.get("/incidents/{id}", self.incident),
                web.get("/api/incidents/{id}", self.incident_json),
                web.post("/incidents/{id}/act", self.act),
                web.post("/incidents/{id}/merge", self.merge),
                web.post("/incidents/{id}/split", self.split)]

    async def home(self, request: web.Request) -> web.Response:
        signed_user(request)
        raise web.HTTPSeeOther("/board")

    async def _board_data(self) -> tuple[list[tuple[Incident, Deadline | None]],
                                         dict[int, tuple[int, int]]]:
        """The board's rows, shared by every viewer while nothing was added to the timeline
        (every change of an incident or its deadlines is), for at most BOARD_TTL_S."""
        newest = await self.store.run(latest_event_id)
        cached = self._board
        if cached is None or cached[1] != newest or time.monotonic() - cached[0] > BOARD_TTL_S:
            task = asyncio.ensure_future(self.store.run(self._board_rows))
            self._board = cached = (time.monotonic(), newest, task)
        return await asyncio.shield(cached[2])

    def _board_rows(self, conn: Connection) -> tuple[list[tuple[Incident, Deadline | None]],
                                                      dict[int, tuple[int, int]]]:
        """The live incidents by next deadline, and each one's items in the last six hours
        and the six before."""
        live = list_incidents(conn, LIVE)
        pending = pending_deadlines(conn, [i.id for i in live])
        trend = recent_counts(conn, [i.id for i in live], self.clock.now())
        rows = [(i, _next_deadline(pending.get(i.id, []))) for i in live]
        far = self.clock.now() + timedelta(days=3650)
        return sorted(rows, key=lambda r: (r[1].due_at if r[1] else far, -r[0].heat)), trend

    async def board(self, request: web.Request) -> web.Response:
        user = signed_user(request)
        rows, trend = await self._board_data()
        rows = _filtered(rows, request.query)
        duty = "，".join(f"{role}：{'、'.join(escape(p.name) for p in people) or '无'}"
                        for role, people in (
                            ("值班员", self.roster.on_duty("duty_officer", self.clock.now())),
                            ("带班领导", self.roster.on_duty("duty_lead", self.clock.now()))))
        body = [(f"<p>当前值班 {duty}</p>{self._filters(request.query)}<table><thead><tr><th>级别</th><th>状态</th><th>事件</th>"
                "<th>领域</th><th>地区</th><th>热度·趋势</th><th>下一时限</th></tr></thead><tbody>")]
        for incident, deadline in rows:
            topics = "、".join(self.topics.get(t, t) for t in incident.topics)
            body.append(
                f"<tr data-incident={incident.id}><td>{escape(_level(incident))}</td>"
                f"<td>{STATUS.get(incident.status.value, '')}</td>"
                f"<td><a href=/incidents/{incident.id}>{escape(incident.title)}</a></td>"
                f"<td>{escape(topics)}</td><td>{escape(incident.region or '—')}</td>"
                f"<td>{incident.heat:.0f} <span title='近6小时信息数（与之前6小时相比）'>"
                f"{_trend(*trend.get(incident.id, (0, 0)))}</span></td>"
                f"<td>{_countdown(deadline)}</td></tr>")
        body.append("</tbody></table>")
        if not rows:
            body.append("<p class=muted>当前没有待处置的事件。</p>")
        role, name = self.role()
        if name:
            body.append(render("role_note.html", machine=name, leader=role == "leader"))
        return html_page("事件看板", "".join(body), user, request[CSRF], self.clock.now(),
                         COUNTDOWN + "<script src=/static/board.js></script>")

    def _filters(self, query: Any) -> str:
        def select(name: str, label: str, options: dict[str, str]) -> str:
            chosen = query.get(name, "")
            items = "".join(f"<option value='{escape(k)}'{' selected' if k == chosen else ''}>"
                            f"{escape(v)}</option>" for k, v in options.items())
            return f"<select name={name}><option value=''>{label}（全部）</option>{items}</select>"

        return ("<form method=get action=/board>" + select("level", "级别", LEVELS)
                + select("topic", "领域", self.topics)
                + f"<input name=region placeholder='地区' value='{escape(query.get('region', ''))}'>"
                + "<button type=submit>筛选</button></form>")

    async def board_json(self, request: web.Request) -> web.Response:
        if request.get(USER) is None:
            return web.json_response({"error": "sign in first"}, status=401)
        rows, trend = await self._board_data()
        rows = _filtered(rows, request.query)
        return web.json_response([{
            "id": i.id, "title": i.title, "status": i.status.value, "level": i.level,
            "proposed_level": i.proposed_level, "topics": list(i.topics), "region": i.region,
            "heat": i.heat, "items_last_6h": trend.get(i.id, (0, 0))[0],
            "items_6h_before": trend.get(i.id, (0, 0))[1],
            "next_deadline": None if d is None else {
                "key": d.key, "label": d.label,
                "due": d.due_at.astimezone(SHANGHAI).isoformat()}} for i, d in rows],
            dumps=lambda v: json.dumps(v, ensure_ascii=False))

    async def incident(self, request: web.Request) -> web.Response:
        user = signed_user(request)
        incident_id = int(request.match_info["id"])

        def read(conn: Connection) -> tuple[Any, ...]:
            if self.analysis is not None:  # the section draws the items: list only a few
                return (get_incident(conn, incident_id), get_clock(conn, incident_id),
                        deadlines_of(conn, incident_id), events_of(conn, incident_id),
                        page_items(conn, incident_id, originals=20, last=50))
            return (get_incident(conn, incident_id), get_clock(conn, incident_id),
                    deadlines_of(conn, incident_id), timeline_of(conn, incident_id),
                    incident_item_rows(conn, incident_id))

        incident, clock, deadlines, events, items = await self.store.run(read)
        if incident is None:
            raise web.HTTPNotFound(text="没有这个事件")
        parts = [(f"<p>{escape(_level(incident))} · {STATUS.get(incident.status.value, '')} · "
                 f"{incident.items}条信息，{incident.sources}个来源，负面占比"
                 f"{incident.negative_share:.0%}，热度{incident.heat:.0f} · 地区 "
                 f"{escape(incident.region or '—')} · 首发 {_source(incident.first_source)}</p>")]
        if clock is not None:
            parts.append(f"<p>计时起点 {local_minute(clock.start_at)}（发现 {local_minute(clock.detected_at)}，"
                         f"首条信息 {local_minute(clock.first_item_at)}，事发 "
                         f"{local_minute(clock.occurred_at)}）</p>")
        if user.role in REPORT_READERS:
            parts.append(f"<p><a href=/incidents/{incident.id}/evaluation>回应效果评估与问责建议"
                         f"</a> · <a href=/incidents/{incident.id}/report>事件专报</a></p>")
        section, scripts = (await self.analysis(incident) if self.analysis is not None
                            else (chart(items, events, deadlines), ""))
        parts.append(section)
        parts.append("<h3>处置时限</h3><table><tr><th>时限</th><th>截止</th><th>状态</th></tr>")
        for d in deadlines:
            state = {"pending": _countdown(d), "met": f"已完成 {local_minute(d.met_at)}",
                     "missed": "<span class=due-missed>已超时</span>",
                     "cancelled": "<span class=muted>已取消</span>"}.get(d.status, d.status)
            parts.append(f"<tr><td>{escape(d.label)}</td><td>{local_minute(d.due_at)}</td>"
                         f"<td>{state}</td></tr>")
        parts.append("</table>")
        if user.role in ACTORS and incident.status not in (IncidentStatus.CLOSED,
                                                           IncidentStatus.MERGED):
            parts.append(_action_forms(incident.id, request[CSRF]))
        parts.append("<h3>时间线</h3><table>")
        for event in events:
            if event.type != "item_added":
                parts.append(f"<tr><td>{local_minute(event.at)}</td><td>"
                             f"{_event_name(event)}</td>"
                             f"<td>{escape(event.actor if event.actor != 'system' else '系统')}"
                             f"</td><td>{_event_detail(event)}</td></tr>")
        parts.append("</table><h3>代表性信息</h3><ul>")
        for row in [r for r in items if not r["copy"]][:20]:
            href = safe_href(row["url"])
            title = escape(row["title"])
            link = f"<a href='{escape(href)}' rel=noopener>{title}</a>" if href else title
            parts.append(f"<li>{local_minute(row['at'])} {_source(row['source'])}：{link}</li>")
        parts.append("</ul>")
        if user.role in ACTORS and incident.status in LIVE:
            boxes = "".join(f"<label><input type=checkbox name=item value={r['id']}> "
                            f"{escape(r['title'][:40])}</label><br>"
                            for r in items[-50:])
            parts.append(f"<details><summary>拆分：将选中的信息移入新事件</summary><form "
                         f"method=post action=/incidents/{incident.id}/split>"
                         f"<input type=hidden name=csrf value='{escape(request[CSRF])}'>"
                         f"{boxes}<button type=submit>拆分</button></form></details>")
        return html_page(f"#{incident.id} {incident.title}", "".join(parts), user, request[CSRF],
                     self.clock.now(), COUNTDOWN + scripts)

    async def act(self, request: web.Request) -> web.Response:
        user = self._actor(request)
        incident_id = int(request.match_info["id"])
        form = await request.post()
        action = str(form.get("action", ""))
        fields = {k: str(v) for k, v in form.items() if k not in ("action", "csrf") and v}
        if "time" in fields:  # the form's datetime-local is Beijing time
            fields["time"] = datetime.fromisoformat(fields["time"]).replace(
                tzinfo=SHANGHAI).isoformat()
        try:
            await self.incidents.act_on(incident_id, action, user.display_name,
                                        self.clock.now(), **fields)
        except ActionError as exc:
            raise web.HTTPConflict(text=f"无法执行：{exc}") from None
        raise web.HTTPSeeOther(f"/incidents/{incident_id}")


    def _actor(self, request: web.Request) -> Any:
        user = signed_user(request)
        if user.role not in ACTORS:
            raise web.HTTPForbidden(text="仅值班员、管理员可执行此操作")
        return user

    async def merge(self, request: web.Request) -> web.Response:
        user = self._actor(request)
        incident_id = int(request.match_info["id"])
        form = await request.post()
        try:
            other = int(str(form.get("into", "")))
            survivor = await self.incidents.merge(incident_id, other, user.display_name,
                                                  self.clock.now())
        except ValueError:
            raise web.HTTPBadRequest(text="请填写要合并的事件编号") from None
        except ActionError as exc:
            raise web.HTTPConflict(text=f"无法合并：{exc}") from None
        raise web.HTTPSeeOther(f"/incidents/{survivor.id}")

    async def split(self, request: web.Request) -> web.Response:
        user = self._actor(request)
        incident_id = int(request.match_info["id"])
        form = await request.post()
        try:
            ids = {int(str(v)) for v in form.getall("item", [])}
            new = await self.incidents.split_items(incident_id, ids, user.display_name,
                                                   self.clock.now())
        except ValueError:
            raise web.HTTPBadRequest(text="请选择要拆分的信息") from None
        except ActionError as exc:
            raise web.HTTPConflict(text=f"无法拆分：{exc}") from None
        raise web.HTTPSeeOther(f"/incidents/{new.id}")

    async def incident_json(self, request: web.Request) -> web.Response:
        if request.get(USER) is None:
            return web.json_response({"error": "sign in first"}, status=401)
        incident_id = int(request.match_info["id"])

        def read(conn: Connection) -> tuple[Any, ...]:
            return (get_incident(conn, incident_id), deadlines_of(conn, incident_id),
                    timeline_of(conn, incident_id))

        incident, deadlines, events = await self.store.run(read)
        if incident is None:
            return web.json_response({"error": f"no incident #{incident_id}"}, status=404)
        return web.json_response({
            "id": incident.id, "title": incident.title, "status": incident.status.value,
            "level": incident.level, "proposed_level": incident.proposed_level,
            "topics": list(incident.topics), "region": incident.region,
            "items": incident.items, "sources": incident.sources, "heat": incident.heat,
            "negative_share": incident.negative_share, "first_source": incident.first_source,
            "deadlines": [{"key": d.key, "label": d.label, "status": d.status,
                           "due": d.due_at.astimezone(SHANGHAI).isoformat(),
                           "met_at": d.met_at.astimezone(SHANGHAI).isoformat()
                           if d.met_at else None} for d in deadlines],
            "timeline": [{**e.data, "at": e.at.astimezone(SHANGHAI).isoformat(),
                          "type": e.type, "actor": e.actor}
                         for e in events if e.type != "item_added"]},
            dumps=lambda v: json.dumps(v, ensure_ascii=False))


def _source(name: str) -> str:
    """A source's name; the reports entered by hand are an item of the intake source."""
    return "人工录入" if name == INTAKE_SOURCE else escape(name)


def _trend(last: int, before: int) -> str:
    """Items in the last six hours against the six before: rising, falling or flat."""
    return f"{'↑' if last > before else '↓' if last < before else '→'}{last}"


def _filtered(rows: list[tuple[Incident, Deadline | None]], query: Any
              ) -> list[tuple[Incident, Deadline | None]]:
    """The board's filters: level (confirmed, else proposed), topic, region (contains)."""
    level, topic, region = (query.get(k, "") for k in ("level", "topic", "region"))
    return [(i, d) for i, d in rows
            if (not level or (i.level or i.proposed_level) == level)
            and (not topic or topic in i.topics)
            and (not region or region in (i.region or ""))]


def _event_name(event: TimelineEvent) -> str:
    if event.type == "opened" and event.data.get("by_hand"):
        return BY_HAND
    return EVENTS.get(event.type, escape(event.type))


def _event_detail(event: TimelineEvent) -> str:
    d = event.data
    if event.type == "opened" and d.get("by_hand"):
        return _by_hand(event)
    if event.type == "milestone_recorded":
        href = safe_href(str(d.get("url", "")))
        link = f"<a href='{escape(href)}' rel=noopener>证据</a>" if href else escape(
            str(d.get("document", "")))
        return f"{MILESTONES.get(str(d.get('kind')), '')} {link}{_backdated(event)}"
    if event.type == "note":
        return escape(str(d.get("text", "")))
    if event.type == "occurred_set":
        return f"发生时间 {_local(str(d.get('time', '')))}{_backdated(event)}"
    if event.type in ("merged", "absorbed"):
        other = d.get("into") or d.get("from_incident")
        return f"<a href=/incidents/{int(str(other))}>#{int(str(other))}</a>" if other else ""
    if "label" in d:
        return escape(str(d["label"]))
    if "title" in d:
        return escape(str(d["title"]))
    if "level" in d:
        return escape(LEVELS.get(str(d["level"]), str(d["level"])))
    return ""


def _by_hand(event: TimelineEvent) -> str:
    d = event.data
    because = str(d.get("because") or "")
    return render("by_hand.html", by_hand=BY_HAND,
                  how="，".join(str(v) for v in (d.get("channel"), event.actor) if v),
                  title=str(d.get("title", "")), action=OPENED_ON.get(because, because),
                  text=str(d.get("text") or ""), backdated=bool(d.get("backdated")),
                  actor=event.actor, recorded=_local(str(d.get("recorded_at", ""))),
                  learned=_local(event.at.isoformat()))


def _backdated(event: TimelineEvent) -> str:
    """补录: the time given is long before the entry was recorded, by whom and when."""
    if not event.data.get("backdated"):
        return ""
    return (f" <strong class=due-near>补录：{escape(event.actor)}于{_local(event.at.isoformat())}"
            f"记录，所记时间{_local(str(event.data.get('time', '')))}</strong>")


def _local(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone(SHANGHAI).strftime("%m-%d %H:%M")
    except ValueError:
        return escape(iso)


def _action_forms(incident_id: int, csrf: str) -> str:
    token = f"<input type=hidden name=csrf value='{escape(csrf)}'>"
    path = f"/incidents/{incident_id}/act"

    def form(action: str, label: str, extra: str = "") -> str:
        return (f"<form class=inline method=post action={path}>{token}"
                f"<input type=hidden name=action value={action}>{extra}"
                f"<button type=submit>{label}</button></form>")

    levels = "".join(f"<option value={k}>{v}</option>" for k, v in LEVELS.items())
    kinds = "".join(f"<option value={k}>{MILESTONES[k]}</option>" for k in MILESTONE_KINDS)
    return ("<h3>处置</h3>" + form("ack", "确认收到")
            + form("confirm", "确认定级", f"<select name=level>{levels}</select>")
            + form("occurred", "录入事发时间", "<input type=datetime-local name=time required>")
            + form("milestone", "记录处置节点", f"<select name=kind>{kinds}</select>"
                   "<input name=url type=url placeholder='发布链接'>"
                   "<input name=document placeholder='或文号'>"
                   "<input name=channel placeholder='渠道'>"
                   "<input name=spokesperson placeholder='发言人'>")
            + form("note", "添加备注", "<input name=text required maxlength=2000 "
                   "placeholder='备注'>")
            + form("dismiss", "排除") + form("close", "关闭")
            + f"<form class=inline method=post action=/incidents/{incident_id}/merge>{token}"
            "<input name=into type=number min=1 required placeholder='事件编号'>"
            "<button type=submit>与该事件合并</button></form>")


def chart(items: list[dict[str, Any]], events: list[TimelineEvent],
          deadlines: list[Deadline]) -> str:
    return charts.svg(charts.hourly(items, marks(events, deadlines)))


def marks(events: list[TimelineEvent], deadlines: list[Deadline]) -> list[charts.Mark]:
    """Milestones (green) and deadlines (red, dashed) to mark on the chart."""
    return charts.milestone_marks(events) + [charts.Mark(d.due_at, charts.DEADLINE_COLOUR, d.label)
                    for d in deadlines if d.status != "cancelled"]
