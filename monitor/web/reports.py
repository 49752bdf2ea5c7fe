"""Evaluations and reports on the dashboard, for evaluators and leaders: an incident's
evaluation with a form per proposed finding (only evaluators decide), the incident report and
the period reports in every format, and quick links to the usual periods."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web
from markupsafe import Markup
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
from monitor.store.reports import recent_sends
from monitor.web.auth import CSRF, signed_user
from monitor.web.pages import REPORT_READERS as READERS
from monitor.web.pages import html_page
from monitor.web.templates import render

DECIDERS = ("evaluator",)
TYPES = {"md": "text/markdown; charset=utf-8",
         "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "pdf": "application/pdf"}
FORMAT_NAMES = {"html": "网页", "md": "Markdown", "docx": "Word", "pdf": "PDF"}
FORMAT_LIST = [{"code": f, "name": FORMAT_NAMES[f]} for f in FORMATS]
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

    async def index(self, request: web.Request) -> web.Response:
        user = self._reader(request)
        today = self.clock.now().astimezone(SHANGHAI).date()
        sends = await self.store.run(lambda c: recent_sends(c, "daily"))
        worklist = await self.store.run(self._worklist)
        body = render(
            "reports_index.html", formats=FORMAT_LIST, today=today,
            week_ago=today - timedelta(days=7),
            periods=[{"name": n, "start": a, "end": b} for n, a, b in usual_periods(today)],
            worklist=[{"id": a.incident.id, "title": a.incident.title,
                       "closed": local_minute(a.incident.updated_at),
                       "score": f"{a.evaluation.score:g}",
                       "measure": MEASURES.get(a.proposal.measure or "", "—"),
                       "open": len(a.open_grounds)} for a in worklist],
            sends=[{"period": s.period, "target": s.target,
                    "state": SEND_STATES.get(s.status, s.status), "attempts": s.attempts,
                    "sent": local_minute(s.sent_at), "error": s.last_error or ""}
                   for s in sends])
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
        proposed = {f.ground for f in a.proposal.findings}
        body = render(
            "evaluation.html", id=incident_id, formats=FORMAT_LIST, csrf=request[CSRF],
            # the report's blocks escape every value of the document they are built from
            report=Markup(html_blocks(doc)),  # noqa: S704
            can_decide=user.role in DECIDERS, unit=ctx.unit_of(a.incident),
            grounds=[(g, name + ("（建议）" if g in proposed else ""))
                     for g, name in GROUNDS.items()],
            decisions=DECISIONS, measures=MEASURES)
        return html_page(f"#{incident_id} 回应效果评估", body, user, request[CSRF], ctx.now)

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
