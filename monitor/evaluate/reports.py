"""The reports a health commission sends around, built from the store: the incident report
(专报) and the period reports (日报, 周报, 月报, 季报). Figures come from the evaluation; text
from feeds and people is de-identified on the way in."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import Connection

from monitor import charts
from monitor.analyze.lexicon import Profile, load_profile, load_taxonomy
from monitor.clock import SHANGHAI, local_minute
from monitor.config import PROJECT_DIR
from monitor.evaluate.assess import DECISIONS, Assessment, assess
from monitor.evaluate.document import Chart, Document, Heading, Para, Table
from monitor.evaluate.evaluation import DeadlineResult, Evaluation
from monitor.evaluate.findings import GROUNDS, MEASURES, AccountabilityRules, load_rules
from monitor.evaluate.masking import mask
from monitor.records import Incident, IncidentStatus, TimelineEvent
from monitor.response.roster import Roster
from monitor.store.incidents import opened_between
from monitor.wording import EVENTS, LEVELS, MILESTONES, STATUS

# the events a reader of a report needs; item arrivals and plans are in the chart instead
TOLD = ("opened", "level_proposed", "confirmed", "acknowledged", "milestone_recorded",
        "occurred_set", "deadline_met", "deadline_missed", "escalated", "no_recipient",
        "delivery_failed", "dismissed", "resurfaced", "closed", "merged", "absorbed", "split",
        "note", "evaluated", "finding_decided")
STATES = {"met": "按时", "pending": "进行中", "missed": "未完成"}
PART_NAMES = {"deadlines_on_time": ("按时完成时限", 40), "volume_declined": ("发布后信息量下降", 30),
              "negativity_fell": ("发布后负面占比下降", 20), "no_reflare": ("未出现次生舆情", 10)}
TOP = 5  # incidents told in full in a period report
SAMPLE_ITEMS = 10
MASKED_NOTE = "本报告涉及的个人信息已作去标识化处理。"
PROFILE_PATH = PROJECT_DIR / "profile.yaml"


@dataclass(frozen=True)
class Context:
    """What every report needs besides the store."""
    now: datetime
    rules: AccountabilityRules
    topics: dict[str, str]  # key → Chinese name
    public_names: Collection[str] = ()  # staff and spokespeople, never masked
    units: Mapping[str | None, str] = field(default_factory=dict)  # region → health authority

    def mask(self, text: object) -> str:
        return mask(str(text), self.public_names)

    def unit_of(self, incident: Incident) -> str:
        """The unit answerable for an incident: its county's health authority, else the
        city's."""
        return self.units.get(incident.region) or self.units.get(None) or "—"


def responsible_units(profile: Profile) -> dict[str | None, str]:
    """The first health authority of each district or county, and of the city (key None)."""
    found: dict[str | None, str] = {}
    for place in profile.places:
        if place.kind == "health_authority":
            found.setdefault(place.region, place.name)
    return found


def context_for(roster: Roster, profile_path: Path = PROFILE_PATH
                ) -> Callable[[datetime], Context]:
    """Reports at a given time; staff on the roster are named as who acted, not masked."""
    rules, topics = load_rules(), {t.key: t.name for t in load_taxonomy()}
    names = frozenset(p.name for p in roster.people)
    units = responsible_units(load_profile(profile_path))
    return lambda now: Context(now, rules, topics, names, units)


def _level(code: str | None) -> str:
    return LEVELS.get(code or "", "待定级")


def _state(d: DeadlineResult) -> str:
    if d.state == "late":
        return f"超时{d.late_minutes}分钟"
    return STATES[d.state]


def _label(d: DeadlineResult) -> str:
    if d.key.startswith("follow_up_"):
        return f"{d.label}（第{d.key.removeprefix('follow_up_')}次）"
    return d.label


def _minutes(value: int | None) -> str:
    if value is None:
        return "—"
    return f"{value // 60}小时{value % 60}分钟" if value >= 60 else f"{value}分钟"


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _detail(event: TimelineEvent, ctx: Context) -> str:
    d = event.data
    if event.type == "milestone_recorded":
        evidence = d.get("url") or d.get("document") or ""
        told = f"{MILESTONES.get(str(d.get('kind')), '')} {ctx.mask(evidence)}".strip()
        if d.get("backdated"):
            when = datetime.fromisoformat(str(d["time"])).astimezone(SHANGHAI)
            told += f"（补录：{event.actor}事后记录，所记时间{when:%m-%d %H:%M}）"
        return told
    if event.type == "note":
        return ctx.mask(d.get("text", ""))
    if event.type == "finding_decided":
        measure = MEASURES.get(str(d.get("measure")), "不予问责")
        return (f"{d.get('name')}：{DECISIONS.get(str(d.get('decision')), '')}，{measure}；"
                f"理由：{ctx.mask(d.get('reason', ''))}")
    if event.type == "evaluated":
        return f"效果评分{d.get('score')}"
    if event.type in ("deadline_met", "deadline_missed", "escalated"):
        late = d.get("late_by_minutes")
        return f"{d.get('label', '')}{f'（超时{late}分钟）' if late else ''}"
    if "level" in d:
        return _level(str(d["level"]))
    if "title" in d:
        return ctx.mask(d["title"])
    return ""


class _Numbers:
    """Numbers for the sub-sections of numbered incident ("3." gives "3.1 ", "3.2 "…)."""

    def __init__(self, prefix: str) -> None:
        self.prefix, self.count = prefix, 0

    def __call__(self) -> str:
        self.count += 1
        return f"{self.prefix}{self.count} " if self.prefix else ""


def incident_sections(doc: Document, a: Assessment, ctx: Context, *, full: bool,
                      number: str = "") -> None:
    """The incident's evaluation; with ``full``, its timeline and sample items as well."""
    ev, incident = a.evaluation, a.incident
    sub = _Numbers(number)
    topics = "、".join(ctx.topics.get(t, t) for t in incident.topics) or "—"
    doc.add(Para(f"等级：{_level(incident.level or incident.proposed_level)}"
                 f"{'' if incident.level else '（建议）'}；状态：{STATUS.get(incident.status.value)}；"
                 f"主题：{topics}；地区：{incident.region or '—'}；信息{incident.items}条，"
                 f"来源{incident.sources}个，负面占比{incident.negative_share:.0%}。"))
    doc.add(Heading(f"{sub()}处置时效", 3), Table(
        ("环节", "时间", "用时"),
        [("首条信息", local_minute(ev.first_item_at), "—"),
         ("发现立案", local_minute(ev.opened_at), _minutes(ev.detection_lag_minutes)),
         ("值班确认", local_minute(ev.acknowledged_at), _minutes(ev.ack_latency_minutes)),
         ("首次权威发布", local_minute(ev.release_at),
          _minutes(None if ev.release_at is None or ev.opened_at is None
                   else round((ev.release_at - ev.opened_at).total_seconds() / 60)))]))
    if ev.deadlines:
        doc.add(Table(("时限", "截止", "完成", "结果"),
                      [(_label(d), local_minute(d.due), local_minute(d.met_at), _state(d))
                       for d in ev.deadlines]))
    doc.add(Para(f"升级提醒{ev.escalations}次，发送失败{ev.delivery_failures}次；"
                 f"后续发布间隔：{'、'.join(f'{g}小时' for g in ev.follow_up_gaps_hours) or '—'}；"
                 f"当值人员：{'、'.join(ev.on_duty) or '—'}。"))
    _opinion(doc, a, sub())
    _score(doc, ev, sub())
    _findings(doc, a, ctx, sub())
    if full:
        told = [e for e in a.events if e.type in TOLD]
        doc.add(Heading(f"{sub()}时间线", 3), Table(
            ("时间", "事项", "人员", "说明"),
            [(local_minute(e.at), EVENTS.get(e.type, e.type),
              "系统" if e.actor == "system" else e.actor, _detail(e, ctx)) for e in told]))
        originals = [i for i in a.items if not i["copy"]][:SAMPLE_ITEMS]
        doc.add(Heading(f"{sub()}代表性信息", 3), Table(
            ("时间", "来源", "标题"),
            [(local_minute(i["at"]), i["source"], ctx.mask(i["title"])) for i in originals],
            caption=f"共{len(a.items)}条，列出前{len(originals)}条原创信息"))


def _opinion(doc: Document, a: Assessment, number: str) -> None:
    doc.add(Heading(f"{number}舆情走势", 3))
    marks = charts.milestone_marks(a.events)
    marks += [charts.Mark(d.due, charts.DEADLINE_COLOUR, d.label)
              for d in a.evaluation.deadlines if not d.pending]
    series = charts.hourly(a.items, marks)
    if series is not None:
        doc.add(Chart(series))
    op = a.evaluation.opinion
    if op is None:
        doc.add(Para("尚无权威发布，无法比较发布前后的舆情。", muted=True))
    else:
        half = "—" if op.half_life_hours is None else f"{op.half_life_hours:g}小时"
        ratio = "—" if op.decline_ratio is None else f"{op.decline_ratio:g}"
        doc.add(Table(("指标", "数值"), [
            ("发布前6小时信息量", str(op.before_items)),
            ("发布后6小时信息量", str(op.after_items)),
            ("发布前负面占比", _share(op.before_negative)),
            ("发布后负面占比", _share(op.after_negative)),
            ("峰值", f"{local_minute(op.peak_hour)}，{op.peak_items}条/小时"),
            ("发布后信息量减半用时", half),
            ("衰减比（后/前）", ratio),
            ("次生舆情", "有" if a.evaluation.reflared else "无")]))


def _score(doc: Document, ev: Evaluation, number: str) -> None:
    rows = [(name, f"{ev.score_parts[key]:g}", str(full))
            for key, (name, full) in PART_NAMES.items() if key in ev.score_parts]
    possible = sum(full for key, (_, full) in PART_NAMES.items() if key in ev.score_parts)
    rows.append(("合计", f"{ev.score:g}", str(possible)))
    doc.add(Heading(f"{number}回应效果评分", 3), Table(("评分项", "得分", "满分"), rows,
                                                   caption="未发生的评分项不计入满分"))


def _findings(doc: Document, a: Assessment, ctx: Context, number: str) -> None:
    doc.add(Heading(f"{number}问责建议", 3))
    grounds = [f.ground for f in a.proposal.findings]
    grounds += [g for g in a.decisions if g not in grounds]
    if not grounds:
        doc.add(Para("未发现问责情形。"))
        return
    facts = {f.ground: "；".join(f.facts) for f in a.proposal.findings}
    rows = []
    for ground in grounds:
        decided = a.decisions.get(ground)
        verdict = "待评估人员认定" if decided is None else (
            f"{DECISIONS[decided.decision]}：{MEASURES.get(decided.measure or '', '不予问责')}"
            f"（{decided.by}，{local_minute(decided.at)}；{ctx.mask(decided.reason)}）")
        proposed = MEASURES[a.proposal.measure] if ground in facts and a.proposal.measure else "—"
        rows.append((GROUNDS[ground], facts.get(ground, "评估人员补充"), _unit(a, ground, ctx),
                     proposed, verdict))
    doc.add(Table(("情形", "事实", "责任单位", "建议措施", "评估意见"), rows,
                  caption=f"建议依据：{a.proposal.why}。建议须经评估人员认定后生效。"))


def _unit(a: Assessment, ground: str, ctx: Context) -> str:
    decided = a.decisions.get(ground)
    return decided.unit if decided is not None and decided.unit else ctx.unit_of(a.incident)


def incident_report(conn: Connection, incident_id: int, ctx: Context) -> Document:
    a = assess(conn, incident_id, ctx.now, ctx.rules)
    doc = Document(f"舆情事件专报：{ctx.mask(a.incident.title)}",
                   f"事件#{incident_id} · 生成于{ctx.now.astimezone(SHANGHAI):%Y-%m-%d %H:%M}")
    incident_sections(doc, a, ctx, full=True)
    doc.add(Para(MASKED_NOTE, muted=True))
    return doc


def period_name(start: date, end: date) -> str:
    """日报, 周报, 月报 or 季报 by the dates (both inclusive), else 报告."""
    days = (end - start).days + 1
    next_day = end + timedelta(days=1)
    if days == 1:
        return "日报"
    if days == 7:
        return "周报"
    if start.day == 1 and next_day.day == 1:
        months = (next_day.year - start.year) * 12 + next_day.month - start.month
        if months == 1:
            return "月报"
        if months == 3 and start.month % 3 == 1:
            return "季报"
    return "报告"


def usual_periods(today: date) -> list[tuple[str, date, date]]:
    """Yesterday, last week (Monday to Sunday), last month and last quarter."""
    yesterday = today - timedelta(days=1)
    monday = today - timedelta(days=today.weekday() + 7)
    month_end = today.replace(day=1) - timedelta(days=1)
    quarter_first = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    last_quarter_end = quarter_first - timedelta(days=1)
    last_quarter_first = date(last_quarter_end.year, (last_quarter_end.month - 1) // 3 * 3 + 1, 1)
    return [("昨日日报", yesterday, yesterday), ("上周周报", monday, monday + timedelta(days=6)),
            ("上月月报", month_end.replace(day=1), month_end),
            ("上季度季报", last_quarter_first, last_quarter_end)]


LAST = {"day": 0, "week": 1, "month": 2, "quarter": 3}  # `--last` → usual_periods index


def local_span(start: date, end: date) -> tuple[datetime, datetime]:
    """From the first day's midnight to the midnight after the last, in Beijing time."""
    return (datetime.combine(start, time(), SHANGHAI),
            datetime.combine(end + timedelta(days=1), time(), SHANGHAI))


def period_assessments(conn: Connection, start: date, end: date, ctx: Context,
                       progress: Callable[[int, int], None] = lambda done, total: None
                       ) -> list[Assessment]:
    """Incidents opened in the period (dates inclusive, Beijing time), evaluated."""
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    since, until = local_span(start, end)
    chosen = [i for i in opened_between(conn, since, until)
              if i.status is not IncidentStatus.MERGED and i.opened_at <= ctx.now]
    found = []
    for n, incident in enumerate(chosen, 1):
        found.append(assess(conn, incident.id, ctx.now, ctx.rules))
        progress(n, len(chosen))
    return found


def period_report(conn: Connection, start: date, end: date, ctx: Context,
                  progress: Callable[[int, int], None] = lambda done, total: None) -> Document:
    return period_document(period_assessments(conn, start, end, ctx, progress), start, end, ctx)


def _span(start: date, end: date) -> str:
    return f"{start:%Y年%m月%d日}" if start == end else f"{start:%Y年%m月%d日}至{end:%Y年%m月%d日}"


def _live(assessments: list[Assessment]) -> int:
    return sum(a.incident.status in (IncidentStatus.OPEN, IncidentStatus.CONFIRMED,
                                     IncidentStatus.RESPONDING) for a in assessments)


def period_document(assessments: list[Assessment], start: date, end: date,
                    ctx: Context) -> Document:
    """Incidents counted by topic, level and region; on-time rates for each deadline; the
    evaluation table; the top incidents told in full."""
    doc = Document(f"卫生健康舆情{period_name(start, end)}",
                   f"{_span(start, end)} · 生成于{ctx.now.astimezone(SHANGHAI):%Y-%m-%d %H:%M}")
    doc.add(Heading("一、总体情况"), Para(
        f"本期新发现舆情事件{len(assessments)}起，其中仍在处置{_live(assessments)}起。"
        if assessments else "本期未发现舆情事件。"))
    if assessments:
        doc.add(*_counts(assessments, ctx))
    doc.add(Heading("二、时限完成情况"), _on_time([a.evaluation for a in assessments]))
    doc.add(Heading("三、回应效果评估"))
    if assessments:
        doc.add(Table(("事件", "等级", "状态", "得分", "建议措施", "认定"), [
            (f"#{a.incident.id} {ctx.mask(a.incident.title)}",
             _level(a.incident.level or a.incident.proposed_level),
             STATUS.get(a.incident.status.value, ""), f"{a.evaluation.score:g}",
             MEASURES.get(a.proposal.measure or "", "—"),
             _settled(a)) for a in assessments]))
        doc.add(_by_unit(assessments, ctx))
    else:
        doc.add(Para("无。", muted=True))
    doc.add(Heading("四、重点事件"))
    top = _top(assessments)
    if not top:
        doc.add(Para("无。", muted=True))
    for n, a in enumerate(top, 1):
        doc.add(Heading(f"（{n}）#{a.incident.id} {ctx.mask(a.incident.title)}", 3))
        incident_sections(doc, a, ctx, full=True, number=f"{n}.")
    doc.add(Para(MASKED_NOTE, muted=True))
    return doc


def _top(assessments: list[Assessment]) -> list[Assessment]:
    return sorted(assessments, key=lambda a: (-a.incident.items, a.incident.id))[:TOP]


def period_summary(assessments: list[Assessment], start: date, end: date,
                   ctx: Context) -> list[str]:
    """A few lines for a robot: counts, on-time rate, findings waiting, the top incidents."""
    levels = Counter(a.incident.level or a.incident.proposed_level for a in assessments)
    by_level = "、".join(f"{LEVELS[k][:2]}{levels[k]}起" for k in LEVELS if levels.get(k))
    lines = [(f"{_span(start, end)}新发现舆情事件{len(assessments)}起"
             f"{f'（{by_level}）' if by_level else ''}，仍在处置{_live(assessments)}起。")]
    due = [d for a in assessments for d in a.evaluation.deadlines if not d.pending]
    if due:
        met = sum(d.on_time for d in due)
        lines.append(f"到期时限{len(due)}项，按时完成{met}项（{met / len(due):.0%}）。")
    waiting = sum(len(a.open_grounds) for a in assessments)
    if waiting:
        lines.append(f"待评估人员认定的问责建议{waiting}项。")
    lines += [f"重点：#{a.incident.id} {ctx.mask(a.incident.title)}（{a.incident.items}条）"
              for a in _top(assessments)[:3]]
    return lines


def _by_unit(assessments: list[Assessment], ctx: Context) -> Table:
    """For 考核 by unit: each unit's incidents, its on-time rate, and the measures decided
    against it (a decision may name another unit than the incident's own)."""
    rows: dict[str, list[int]] = {}  # incidents, due, on time, 通报批评, 约谈整改, waiting
    for a in assessments:
        own = rows.setdefault(ctx.unit_of(a.incident), [0] * 6)
        own[0] += 1
        due = [d for d in a.evaluation.deadlines if not d.pending]
        own[1] += len(due)
        own[2] += sum(d.on_time for d in due)
        own[5] += len(a.open_grounds)
        # one incident counts once against a unit, under the heaviest measure upheld
        heaviest: dict[str, str] = {}
        for ground, decided in a.decisions.items():
            if decided.measure is not None:
                unit = _unit(a, ground, ctx)
                if heaviest.get(unit) != "interview":
                    heaviest[unit] = decided.measure
        for unit, measure in heaviest.items():
            rows.setdefault(unit, [0] * 6)[3 if measure == "criticism" else 4] += 1
    return Table(("责任单位", "事件数", "按时率", "通报批评", "约谈整改", "待认定"), [
        (unit, str(n[0]), f"{n[2] / n[1]:.0%}（{n[2]}/{n[1]}）" if n[1] else "—",
         str(n[3]), str(n[4]), str(n[5])) for unit, n in sorted(rows.items())],
        caption="通报批评、约谈整改为评估人员已认定的事件数，一起事件对一个单位只计其最重的措施")


def _settled(a: Assessment) -> str:
    if not a.proposal.findings and not a.decisions:
        return "—"
    if a.open_grounds:
        return f"待认定{len(a.open_grounds)}项"
    return MEASURES.get(a.measure or "", "不予问责")


def _counts(assessments: list[Assessment], ctx: Context) -> list[Table]:
    levels = Counter(_level(a.incident.level or a.incident.proposed_level) for a in assessments)
    topics = Counter(ctx.topics.get(t, t) for a in assessments for t in a.incident.topics[:1])
    regions = Counter(a.incident.region or "未定" for a in assessments)
    total = len(assessments)

    def table(title: str, counts: Counter[str]) -> Table:
        return Table((title, "事件数", "占比"), [(k, str(v), f"{v / total:.0%}")
                                                for k, v in counts.most_common()])
    return [table("等级", levels), table("主题", topics), table("地区", regions)]


def _on_time(evaluations: list[Evaluation]) -> Table | Para:
    """Per deadline: how many fell due in the evaluated incidents, met on time, late, missed."""
    counts: dict[str, list[int]] = {}
    labels: dict[str, str] = {}
    for ev in evaluations:
        for d in ev.deadlines:
            if d.pending:
                continue
            key = "follow_up" if d.key.startswith("follow_up_") else d.key
            labels.setdefault(key, "后续发布" if key == "follow_up" else d.label)
            row = counts.setdefault(key, [0, 0, 0, 0])
            row[0] += 1
            row[{"met": 1, "late": 2, "missed": 3}[d.state]] += 1
    if not counts:
        return Para("本期没有到期的时限。", muted=True)
    # in the order they first fell due, which is the order of the policy
    return Table(("时限", "到期", "按时", "超时完成", "未完成", "按时率"), [
        (labels[k], *(str(v) for v in row), f"{row[1] / row[0]:.0%}")
        for k, row in counts.items()])
