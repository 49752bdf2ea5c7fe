"""Evaluations and reports on the dashboard, for evaluators and leaders: an incident's
evaluation with a form per proposed finding (only evaluators decide), the incident report and
the period reports in every format, and quick links to the usual periods."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime, timedelta
from html import escape
from typing import Any

from aiohttp import web
from sqlalchemy import Connection

from monitor.clock import SHANGHAI, Clock, local_minute
from monitor.errors import MonitorError
from monitor.evaluate.assess import DECISIONS, Assessment, assess, decide, record_evaluation
from monitor.evaluate.document import Document
from monitor.evaluate.findings import GROUNDS, MEASURES
from monitor.evaluate.formats import FORMATS, html_blocks, to_docx, to_html, to_markdown
from monitor.evaluate.reports import (
    Context,
    incident_report,
    incident_sections,
    period_report,
    usual_periods,
)
from monitor.store import Store
from monitor.store.incidents import awaiting_evaluation
from monitor.store.reports import ReportSend, recent_sends
from monitor.web.auth import CSRF, signed_user
from monitor.web.pages import REPORT_READERS as READERS
from monitor.web.pages import html_page

DECIDERS = ("evaluator",)
TYPES = {"md": "text/markdown; charset=utf-8",
         "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "pdf": "application/pdf"}
FORMAT_NAMES = {"html": "网页", "md": "Markdown", "docx": "Word", "pdf": "PDF"}
WORKLIST_DAYS = timedelta(days=30)


class ReportPages:
    def __init__(self, store: Store, context: Callable[[datetime], Context],
                 clock: Clock) -> None:
        self.store, self.context, self.clock = store, context, clock

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/reports", self.index), web.get("/reports/period", self.period),
                web.get("/incidents/{id}/report", self.incident),
                web.get("/incidents/{id}/evaluation", self.evaluation),
                web.post("/incidents/{id}/evaluation", self.decide)]

    def _reader(self, request: web.Request) -> Any:
        user = signed_user(request)
        if user.role not in READERS:
            raise web.HTTPForbidden(text="仅领导、考核人员、管理员可查看评估与报告")
        return user

    async def _send(self, doc: Document, fmt: str, name: str) -> web.Response:
        if fmt not in FORMATS:
            raise web.HTTPBadRequest(text=f"格式应为：{'、'.join(FORMATS)}")
        if fmt == "html":
            return web.Response(text=to_html(doc), content_type="text/html", charset="utf-8")
        if fmt == "md":
            body = to_markdown(doc).encode()
        elif fmt == "docx":  # charts are drawn in Python: off the event loop
            body = await asyncio.to_thread(to_docx, doc)
        else:
            from monitor.evaluate.pdf import html_to_pdf
            try:
                body = await html_to_pdf(to_html(doc))
            except MonitorError as exc:
                raise web.HTTPServiceUnavailable(text=f"无法生成PDF：{exc}") from None
        return web.Response(body=body, headers={
            "Content-Type": TYPES[fmt],
            "Content-Disposition": f'attachment; filename="{name}.{fmt}"'})

    @staticmethod
    def _formats(base: str) -> str:
        joiner = "&" if "?" in base else "?"
        return " · ".join(f"<a href='{escape(base)}{joiner}format={f}'>{FORMAT_NAMES[f]}</a>"
                          for f in FORMATS)

    async def index(self, request: web.Request) -> web.Response:
        user = self._reader(request)
        today = self.clock.now().astimezone(SHANGHAI).date()
        sends = await self.store.run(lambda c: recent_sends(c, "daily"))
        worklist = await self.store.run(self._worklist)
        rows = "".join(
            f"<tr><td>{name}</td><td>{start}至{end}</td><td>"
            f"{self._formats(f'/reports/period?from={start}&to={end}')}</td></tr>"
            for name, start, end in usual_periods(today))
        body = (_worklist_table(worklist)
                + f"<h3>定期报告</h3><table><tr><th>报告</th><th>期间</th><th>格式</th></tr>{rows}</table>"
                "<h3>自定义期间</h3><form method=get action=/reports/period>"
                f"<label>起 <input type=date name=from required value='{today - timedelta(days=7)}'>"
                f"</label> <label>止 <input type=date name=to required value='{today}'></label> "
                "<select name=format>" + "".join(f"<option value={f}>{FORMAT_NAMES[f]}</option>"
                                                 for f in FORMATS)
                + "</select> <button type=submit>生成</button></form>"
                "<p class=muted>事件专报与回应效果评估见各事件页面。报告中的个人信息已去标识化。</p>"
                + _sends_table(sends))
        return html_page("评估与报告", body, user, request[CSRF], self.clock.now())

    def _worklist(self, conn: Connection) -> list[Assessment]:
        ctx = self.context(self.clock.now())
        ids = awaiting_evaluation(conn, ctx.now - WORKLIST_DAYS)
        return [assess(conn, i, ctx.now, ctx.rules) for i in ids]

    async def period(self, request: web.Request) -> web.Response:
        self._reader(request)
        try:
            start = date.fromisoformat(request.query.get("from", ""))
            end = date.fromisoformat(request.query.get("to", ""))
        except ValueError:
            raise web.HTTPBadRequest(text="请填写起止日期（如 2026-03-02）") from None
        if end < start or (end - start).days > 400:
            raise web.HTTPBadRequest(text="止日期应不早于起日期，且期间不超过400天")
        ctx = self.context(self.clock.now())
        doc = await self.store.run(lambda c: period_report(c, start, end, ctx))
        return await self._send(doc, request.query.get("format", "html"),
                                f"report-{start}-{end}")

    def _incident_id(self, request: web.Request) -> int:
        try:
            return int(request.match_info["id"])
        except ValueError:
            raise web.HTTPNotFound(text="没有这个事件") from None

    async def incident(self, request: web.Request) -> web.Response:
        self._reader(request)
        incident_id, ctx = self._incident_id(request), self.context(self.clock.now())
        try:
            doc = await self.store.run(lambda c: incident_report(c, incident_id, ctx))
        except MonitorError:
            raise web.HTTPNotFound(text="没有这个事件") from None
        return await self._send(doc, request.query.get("format", "html"),
                                f"incident-{incident_id}")

    async def evaluation(self, request: web.Request) -> web.Response:
        user = self._reader(request)
        incident_id, ctx = self._incident_id(request), self.context(self.clock.now())

        def read(conn: Connection) -> tuple[Any, Document]:
            a = assess(conn, incident_id, ctx.now, ctx.rules)
            doc = Document("", "")
            incident_sections(doc, a, ctx, full=False)
            return a, doc

        try:
            a, doc = await self.store.run(read)
        except MonitorError:
            raise web.HTTPNotFound(text="没有这个事件") from None
        parts = [(f"<p><a href=/incidents/{incident_id}>返回事件</a> · 专报："
                 f"{self._formats(f'/incidents/{incident_id}/report')}</p>"), html_blocks(doc)]
        if user.role in DECIDERS:
            parts.append(self._decision_form(incident_id, a, ctx.unit_of(a.incident),
                                             request[CSRF]))
        else:
            parts.append("<p class=muted>问责建议由考核人员认定。</p>")
        return html_page(f"#{incident_id} 回应效果评估", "".join(parts), user, request[CSRF],
                         ctx.now)

    @staticmethod
    def _decision_form(incident_id: int, a: Any, unit: str, csrf: str) -> str:
        token = f"<input type=hidden name=csrf value='{escape(csrf)}'>"
        proposed = [f.ground for f in a.proposal.findings]
        grounds = "".join(f"<option value={g}>{name}{'（建议）' if g in proposed else ''}"
                          "</option>" for g, name in GROUNDS.items())
        decisions = "".join(f"<option value={d}>{name}</option>" for d, name in DECISIONS.items())
        measures = "<option value=''>按建议</option>" + "".join(
            f"<option value={m}>{name}</option>" for m, name in MEASURES.items())
        return (f"<h3>认定问责建议</h3><form method=post action=/incidents/{incident_id}/evaluation>"
                f"{token}<select name=ground>{grounds}</select> <select name=decision>{decisions}"
                f"</select> <select name=measure>{measures}</select> <input name=unit "
                f"placeholder='责任单位（默认：{escape(unit)}）'><br><textarea name=reason "
                "required rows=2 cols=60 placeholder='理由（必填）'></textarea><br>"
                "<button type=submit>提交认定</button></form>"
                f"<form method=post action=/incidents/{incident_id}/evaluation>{token}"
                "<input type=hidden name=decision value=record><button type=submit>"
                "将当前评估记入时间线</button></form>")

    async def decide(self, request: web.Request) -> web.Response:
        user = signed_user(request)
        if user.role not in DECIDERS:
            raise web.HTTPForbidden(text="仅考核人员可认定问责建议")
        incident_id, ctx = self._incident_id(request), self.context(self.clock.now())
        form = await request.post()
        decision = str(form.get("decision", ""))

        def write(conn: Connection) -> None:
            a = assess(conn, incident_id, ctx.now, ctx.rules)
            if decision == "record":
                record_evaluation(conn, a, user.display_name, ctx.now)
            else:
                decide(conn, a, str(form.get("ground", "")), decision,
                       str(form.get("measure", "")) or None, str(form.get("reason", "")),
                       user.display_name, ctx.now, str(form.get("unit", "")) or None)

        try:
            await self.store.run(write)
        except MonitorError as exc:
            raise web.HTTPConflict(text=f"无法认定：{exc}") from None
        raise web.HTTPSeeOther(f"/incidents/{incident_id}/evaluation")


SEND_STATES = {"sent": "已发送", "failed": "发送失败", "sending": "发送中"}


def _sends_table(sends: list[ReportSend]) -> str:
    """Whether the scheduled daily reports went out, and why not."""
    if not sends:
        return "<h3>日报发送记录</h3><p class=muted>暂无（每日定时发送，见 alerts/reports.yaml）</p>"
    rows = "".join(
        f"<tr><td>{escape(s.period)}</td><td>{escape(s.target)}</td>"
        f"<td>{SEND_STATES.get(s.status, escape(s.status))}</td><td>{s.attempts}</td>"
        f"<td>{local_minute(s.sent_at)}</td><td>{escape(s.last_error or '')}</td></tr>"
        for s in sends)
    return ("<h3>日报发送记录</h3><table><tr><th>日期</th><th>发送对象</th><th>状态</th>"
            f"<th>尝试次数</th><th>发送时间</th><th>错误</th></tr>{rows}</table>")


def _worklist_table(assessments: list[Assessment]) -> str:
    """Closed incidents waiting for their post-event evaluation."""
    if not assessments:
        return ("<h3>待评估事件</h3><p class=muted>近30天关闭的事件均已记录评估。</p>")
    rows = "".join(
        f"<tr><td><a href=/incidents/{a.incident.id}/evaluation>#{a.incident.id} "
        f"{escape(a.incident.title)}</a></td><td>{local_minute(a.incident.updated_at)}</td>"
        f"<td>{a.evaluation.score:g}</td><td>{MEASURES.get(a.proposal.measure or '', '—')}</td>"
        f"<td>{len(a.open_grounds)}</td></tr>" for a in assessments)
    return ("<h3>待评估事件</h3><table><tr><th>事件</th><th>关闭时间</th><th>效果评分</th>"
            f"<th>建议措施</th><th>待认定</th></tr>{rows}</table>"
            "<p class=muted>近30天关闭、尚未记录评估的事件；评估记入时间线后移出本表。</p>")
