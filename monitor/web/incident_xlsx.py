"""The Excel export of one incident (/incidents/{id}/items.xlsx): 事件概况, 信息列表 (every
item), 传播路径 and 时间线, in Chinese, times in Beijing time. The file leaves the service, so
what people and feeds wrote is de-identified (mask, with the roster's names public, as in the
reports); titles link to the originals when those are http(s)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from monitor.analyze.text import plain_text
from monitor.clock import SHANGHAI
from monitor.evaluate.reports import Context
from monitor.records import Deadline, Incident, TimelineEvent
from monitor.store import analysis as sql
from monitor.store.incidents import get_incident
from monitor.store.response import deadlines_of
from monitor.web.analysis import MEDIA_NAMES, IncidentAnalysis
from monitor.web.xlsx import Cell, Sheet
from monitor.wording import BY_HAND, EVENTS, LEVELS, MILESTONES, STATUS

SUMMARY_CHARS = 2000  # a cell holds 32,767; a summary longer than this is an article's body
FIRST_TITLE_CHARS = 40
MASKED_NOTE = "本表涉及的个人信息已作去标识化处理。"
STATES = {"pending": "进行中", "met": "已完成", "missed": "已超时", "cancelled": "已取消"}


def _when(at: datetime | None) -> str:
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if at else "—"


@dataclass(frozen=True)
class Export:
    """What the workbook is made of, read in one transaction."""

    incident: Incident
    rows: list[sql.ExportRow]
    carriers: list[sql.Carrier]
    events: list[TimelineEvent]
    deadlines: list[Deadline]
    posts: dict[int, sql.Post]  # the items the rows name, the originals outside it too
    regions: Counter[str]
    unnamed: int


def read(conn: Connection, incident_id: int, region_of: Mapping[str, str]) -> Export | None:
    incident = get_incident(conn, incident_id)
    if incident is None:
        return None
    rows = sql.export_rows(conn, incident_id)
    carriers = sql.carriers(conn, incident_id)
    posts = {r.post.id: r.post for r in rows}
    wanted = {r.story for r in rows} | {c.first_repost.original for c in carriers
                                        if c.first_repost is not None
                                        and c.first_repost.original is not None}
    posts.update(sql.posts_by_id(conn, wanted - set(posts)))
    regions, unnamed = sql.regions(conn, incident_id, region_of)
    return Export(incident, rows, carriers, sql.events_of(conn, incident_id),
                  deadlines_of(conn, incident_id), posts, regions, unnamed)


def sheets(data: Export, analysis: IncidentAnalysis, ctx: Context) -> list[Sheet]:
    """The four sheets; masking thousands of summaries takes a while, so this runs off the
    store's thread and the event loop (analysis.py)."""
    incident, rows, carriers, events = data.incident, data.rows, data.carriers, data.events
    posts, regions, unnamed = data.posts, data.regions, data.unnamed
    level = incident.level or incident.proposed_level
    level_name = LEVELS.get(level or "", "待定级") + ("" if incident.level or not level
                                                     else "（建议）")
    opened = next((e for e in events if e.type == "opened"), None)
    how = "发现立案"
    if opened is not None and opened.data.get("by_hand"):
        how = f"{BY_HAND}（{ctx.mask(opened.data.get('channel') or '其他')}）"
    reposts = sum(r.post.original is not None for r in rows)
    media = [(m["name"], m["items"]) for m in analysis.media_split(carriers)]
    overview: list[tuple[str, Cell]] = [
        ("事件编号", f"#{incident.id}"), ("标题", ctx.mask(incident.title)),
        ("级别", level_name), ("状态", STATUS.get(incident.status.value, "")),
        ("领域", "、".join(ctx.topics.get(t, t) for t in incident.topics) or "—"),
        ("立案方式", how),
        ("立案时间", opened.at if opened is not None else incident.opened_at),
        ("首条信息时间", rows[0].post.at if rows else None),
        ("首发来源", analysis.source_name(incident.first_source)),
        ("信息数", len(rows)), ("其中转载", reposts), ("来源数", len(carriers)),
        ("负面占比", f"{incident.negative_share:.0%}"),
        ("地区", incident.region or "—"),
        ("地区分布", "；".join(f"{k}{n}条" for k, n in regions.most_common())
         + (f"；未指明区县{unnamed}条" if unnamed else "") if rows else "—"),
        ("媒体类型", "；".join(f"{name}{n}条" for name, n in media) or "—")]
    for d in data.deadlines:
        state = STATES.get(d.status, d.status)
        if d.status == "met":
            state += f"（{_when(d.met_at)}）"
        overview.append((f"处置时限：{d.label}", f"截止{_when(d.due_at)}，{state}"))
    for e in events:
        if e.type == "milestone_recorded":
            kind = MILESTONES.get(str(e.data.get("kind")), "处置节点")
            evidence = ctx.mask(e.data.get("url") or e.data.get("document") or "")
            overview.append((f"处置节点：{kind}", f"{_when(_time_of(e.at, e.data))} {evidence}"
                             .strip()))
    overview += [("导出时间", ctx.now), ("说明", MASKED_NOTE)]
    return [
        Sheet("事件概况", ("项目", "内容"), overview, (22, 80)),
        Sheet("信息列表", ("时间", "来源", "媒体类型", "标题", "摘要", "负面程度", "是否转载",
                       "首发"),
              [_item_row(r, posts, analysis, ctx) for r in rows],
              (17, 18, 10, 48, 60, 9, 9, 48)),
        Sheet("传播路径", ("序号", "首次时间", "来源", "媒体类型", "权重", "信息数", "首条信息",
                       "转载自"),
              [_spread_row(n, c, posts, analysis, ctx) for n, c in enumerate(carriers, 1)],
              (6, 17, 18, 10, 6, 8, 48, 18)),
        Sheet("时间线", ("时间", "事项", "人员", "说明"),
              [(e.at, _event_name(e), "系统" if e.actor == "system" else e.actor,
                _detail(e, ctx)) for e in events], (17, 14, 14, 70)),
    ]


def _text(post: sql.Post, ctx: Context, chars: int | None = None) -> str:
    text = ctx.mask(post.title)
    return text[:chars] + "…" if chars is not None and len(text) > chars else text


def _title(post: sql.Post, ctx: Context) -> Cell:
    return (_text(post, ctx), post.url)  # a link when http(s): xlsx.py checks


def _item_row(row: sql.ExportRow, posts: dict[int, sql.Post], analysis: IncidentAnalysis,
              ctx: Context) -> list[Cell]:
    p = row.post
    media = analysis.media_of(p.source)
    first: Cell = "本条"
    origin = posts.get(row.story) if row.story != p.id else None
    if origin is not None:
        said = f"{_when(origin.at)} {analysis.source_name(origin.source)}："
        first = (said + _text(origin, ctx, FIRST_TITLE_CHARS), origin.url)
    elif row.story != p.id:
        first = f"#{row.story}"
    summary = ctx.mask(plain_text(row.summary).strip())
    if len(summary) > SUMMARY_CHARS:
        summary = summary[:SUMMARY_CHARS] + "…"
    return [p.at, analysis.source_name(p.source), MEDIA_NAMES[media], _title(p, ctx), summary,
            None if p.negative is None else round(p.negative, 2),
            "是" if p.original is not None else "否", first]


def _spread_row(n: int, c: sql.Carrier, posts: dict[int, sql.Post],
                analysis: IncidentAnalysis, ctx: Context) -> list[Cell]:
    copied = c.first_repost.original if c.first_repost is not None else None
    origin = posts.get(copied) if copied is not None else None
    return [n, c.first.at, analysis.source_name(c.source),
            MEDIA_NAMES[analysis.media_of(c.source)], analysis.weight_of(c.source), c.items,
            _title(c.first, ctx), analysis.source_name(origin.source) if origin else "—"]


def _time_of(at: datetime, data: dict[str, Any]) -> datetime:
    value = data.get("time")
    return datetime.fromisoformat(value) if isinstance(value, str) else at


def _event_name(event: Any) -> str:
    if event.type == "opened" and event.data.get("by_hand"):
        return BY_HAND
    return EVENTS.get(str(event.type), str(event.type))


def _detail(event: Any, ctx: Context) -> str:
    """What happened, in words, de-identified."""
    d: dict[str, Any] = event.data
    if event.type == "opened":
        return _opened(d, ctx)
    if event.type == "milestone_recorded":
        kind = MILESTONES.get(str(d.get("kind")), "")
        told = f"{kind} {ctx.mask(d.get('url') or d.get('document') or '')}".strip()
        if d.get("backdated"):
            told += f"（补录，所记时间{_when(_time_of(event.at, d))}）"
        return told
    if event.type in ("note", "occurred_set"):
        return ctx.mask(d.get("text") or d.get("time") or "")
    if event.type == "deadline_set" and isinstance(d.get("due"), str):
        return f"{d.get('label', '')} 截止{_when(datetime.fromisoformat(d['due']))}"
    if event.type in DEADLINE_EVENTS:
        late = d.get("late_by_minutes")
        return f"{d.get('label', '')}{f'（超时{late}分钟）' if late else ''}"
    return _other(event.type, d, ctx)


DEADLINE_EVENTS = ("deadline_set", "deadline_met", "deadline_missed", "reminder", "escalated",
                   "deadline_cancelled")


def _opened(d: dict[str, Any], ctx: Context) -> str:
    told = ctx.mask(d.get("title", ""))
    if d.get("by_hand"):
        told = f"{ctx.mask(d.get('channel') or '')}：{told}"
        if d.get("text"):
            told += f"；{ctx.mask(d['text'])}"
    return told


def _other(kind: str, d: dict[str, Any], ctx: Context) -> str:
    if kind in ("notified", "no_recipient") and isinstance(d.get("to"), list):
        return "通知：" + "、".join(ctx.mask(str(n)) for n in d["to"])
    if kind in ("merged", "absorbed"):
        other = d.get("into") or d.get("from_incident")
        return f"事件#{other}" if other else ""
    if kind == "evaluated":
        return f"效果评分{d.get('score')}"
    if "level" in d:
        return LEVELS.get(str(d["level"]), str(d["level"]))
    if "title" in d:
        return ctx.mask(d["title"])
    return ""
