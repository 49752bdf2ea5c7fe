"""The words of an alert, in Chinese: what happened, why it fired, the level, the next
deadline with the time left, a link to the incident and the acknowledgement link."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from monitor.clock import SHANGHAI
from monitor.notify.channels import Message, Recipient
from monitor.records import Incident
from monitor.wording import LEVELS

ROLES = {"duty_officer": "值班员", "duty_lead": "带班领导", "leader_in_charge": "分管领导",
         "principal_leader": "主要负责同志"}
HEADLINES = {"notified": "新舆情事件，请确认并处置", "escalated": "舆情事件升级提醒",
             "reminder": "处置时限提醒", "deadline_missed": "处置时限已超时",
             "delivery_fault": "告警通道故障", "test": "测试消息"}


def _clock(at: str | None) -> str:
    if not at:
        return ""
    return datetime.fromisoformat(at).astimezone(SHANGHAI).strftime("%m月%d日 %H:%M")


def _left(minutes: object) -> str:
    if not isinstance(minutes, int | float):
        return ""
    if minutes <= 0:
        return "已到时限"
    hours, rest = divmod(int(minutes), 60)
    return f"剩余{hours}小时{rest}分钟" if hours else f"剩余{rest}分钟"


def _minutes_left(data: dict[str, Any], now: datetime | None) -> object:
    due = data.get("deadline_due")
    if now is None or not isinstance(due, str):
        return data.get("minutes_left")
    return (datetime.fromisoformat(due) - now).total_seconds() // 60


def render(kind: str, data: dict[str, Any], incident: Incident | None, to: Recipient | None,
           incident_url: str, ack_url: str | None, resend: bool = False,
           evidence: tuple[dict[str, list[str]], float] | None = None,
           now: datetime | None = None) -> Message:
    """``evidence``: the watch plans the incident's items hit, with the words matched, and
    the classifier's highest health score among them; ``now``: when it is sent, so that a
    reminder sent late says the time left then, not when it was queued."""
    level = LEVELS.get(str(data.get("level")), "待定级")
    title = f"{'【重发】' if resend else ''}{HEADLINES.get(kind, '舆情提醒')}：" \
            f"{data.get('title') or (incident.title if incident else '')}"
    lines = [f"级别：{level}"]
    if data.get("error"):
        lines.append(f"通道 {data.get('channel')} 的回复：{data['error']}")
    if kind == "escalated":
        why = ("无人确认" if data.get("reason") == "not_acknowledged"
               else f"{data.get('label', '')}已超时")
        lines.append(f"升级至：{ROLES.get(str(data.get('role')), data.get('role'))}（{why}）")
    if data.get("label"):
        due = _clock(str(data.get("deadline_due") or "")) or ""
        left = _left(_minutes_left(data, now)) if kind == "reminder" else (
            "已超时" if kind == "deadline_missed" else "")
        lines.append(f"时限：{data['label']}，截止{due}{('，' + left) if left else ''}")
    if incident is not None:
        lines.append(f"态势：{incident.items}条信息，{incident.sources}个来源，"
                     f"负面占比{incident.negative_share:.0%}，热度{incident.heat:.0f}")
        if incident.keywords:
            words = [k for k in incident.keywords if not k.startswith(("@", "#"))][:5]
            lines.append(f"关键词：{'、'.join(words)}")
        if incident.region:
            lines.append(f"地区：{incident.region}；首发：{incident.first_source}")
    if evidence is not None:
        plans, score = evidence
        if plans:
            lines.append("命中方案：" + "；".join(f"{name}（{'、'.join(words[:4])}）"
                                             for name, words in list(plans.items())[:3]))
        if score:
            lines.append(f"模型判定：卫生健康相关 {score:.2f}")
    if data.get("late"):
        lines.append(f"（服务恢复后补发，原定{_clock(str(data.get('scheduled')))}）")
    links = [("查看事件", incident_url)]
    if ack_url:
        links.append(("确认收到", ack_url))
    return Message(title, tuple(lines), tuple(links), to)
