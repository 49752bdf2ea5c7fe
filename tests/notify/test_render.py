"""The words of an alert."""

from __future__ import annotations

from datetime import datetime

from monitor.clock import SHANGHAI
from monitor.notify.channels import Recipient
from monitor.notify.render import render
from monitor.records import Incident, IncidentStatus

AT = datetime(2026, 3, 2, 8, 24, tzinfo=SHANGHAI)
INCIDENT = Incident(7, IncidentStatus.CONFIRMED, "凤庆县人民医院产妇死亡", AT, AT, 1, "weibo-lincang",
                    keywords=("产妇", "@凤庆县人民医院", "延误"), region="凤庆县", items=42, sources=9,
                    negative_share=0.71, heat=57.2, level="II")


def test_a_reminder_says_what_is_due_when_and_how_long_is_left() -> None:
    message = render("reminder", {"level": "II", "title": INCIDENT.title,
                                  "label": "首次权威发布（5小时时限）",
                                  "deadline_due": "2026-03-02T13:24:00+08:00", "minutes_left": 90},
                     INCIDENT, Recipient("值班员甲"), "https://y.example/incidents/7",
                     "https://y.example/ack/t",
                     evidence=({"涉医纠纷": ["医院", "死亡", "延误"]}, 0.987))
    assert message.title == "处置时限提醒：凤庆县人民医院产妇死亡"
    assert "级别：Ⅱ级（重大）" in message.lines
    assert "时限：首次权威发布（5小时时限），截止03月02日 13:24，剩余1小时30分钟" in message.lines
    assert "态势：42条信息，9个来源，负面占比71%，热度57" in message.lines
    assert "关键词：产妇、延误" in message.lines
    assert "命中方案：涉医纠纷（医院、死亡、延误）" in message.lines
    assert "模型判定：卫生健康相关 0.99" in message.lines
    assert message.links == (("查看事件", "https://y.example/incidents/7"),
                             ("确认收到", "https://y.example/ack/t"))


def test_an_escalation_after_downtime_says_why_and_that_it_is_late() -> None:
    message = render("escalated", {"level": "II", "role": "principal_leader",
                                   "reason": "deadline_missed", "label": "首次权威发布（5小时时限）",
                                   "late": True, "scheduled": "2026-03-02T13:24:00+08:00"},
                     INCIDENT, None, "https://y.example/incidents/7", None, resend=True)
    assert message.title.startswith("【重发】舆情事件升级提醒")
    assert "升级至：主要负责同志（首次权威发布（5小时时限）已超时）" in message.lines
    assert "（服务恢复后补发，原定03月02日 13:24）" in message.lines


def test_a_reminder_sent_late_says_the_time_left_when_it_is_sent() -> None:
    data = {"level": "II", "title": INCIDENT.title, "label": "首次权威发布（5小时时限）",
            "deadline_due": "2026-03-02T13:24:00+08:00", "minutes_left": 60}
    args = (INCIDENT, Recipient("值班员甲"), "https://y.example/incidents/7", None)
    sent = datetime.fromisoformat("2026-03-02T13:04:00+08:00")  # queued at 12:24, sent at 13:04
    assert any(line.endswith("剩余20分钟") for line in render("reminder", data, *args,
                                                          now=sent).lines)
    late = datetime.fromisoformat("2026-03-02T13:30:00+08:00")
    assert any(line.endswith("已到时限") for line in render("reminder", data, *args,
                                                        now=late).lines)
