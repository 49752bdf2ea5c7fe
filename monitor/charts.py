"""An incident's course as a chart: items per hour (bars), their mean negativity (line), and
marks for milestones and deadlines. Drawn as SVG for pages and as PNG (Pillow) for DOCX, from
one series, so the screen, the print and the office file show the same thing."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from monitor.clock import local_minute
from monitor.records import TimelineEvent
from monitor.wording import MILESTONES

MILESTONE_COLOUR, DEADLINE_COLOUR = "#2e7d32", "#c62828"
BAR, LINE = "#90a4ae", "#e65100"
CAPTION = "灰色：每小时信息量（峰值{peak}条）；橙线：负面占比；绿线：处置节点；红色虚线：时限"


@dataclass(frozen=True)
class Mark:
    at: datetime
    colour: str
    label: str


@dataclass(frozen=True)
class Series:
    start: datetime  # the first item's hour
    end: datetime
    counts: list[int]  # items in each hour from start
    negative: list[float | None]  # their mean negativity, None for an empty hour
    marks: list[Mark]

    @property
    def peak(self) -> int:
        return max(self.counts)

    def x(self, at: datetime) -> float:
        """Hours from the start."""
        return (at - self.start).total_seconds() / 3600


def milestone_marks(events: list[TimelineEvent]) -> list[Mark]:
    return [Mark(e.at, MILESTONE_COLOUR, MILESTONES.get(str(e.data.get("kind")), "节点"))
            for e in events if e.type == "milestone_recorded"]


def hourly(items: list[dict[str, Any]], marks: list[Mark]) -> Series | None:
    """``items`` oldest first, each with ``at`` and ``negative``; None without items."""
    if not items:
        return None
    start = items[0]["at"].replace(minute=0, second=0, microsecond=0)
    end = max([items[-1]["at"], *(m.at for m in marks)])
    hours = int((end - start).total_seconds() // 3600) + 1
    counts, negative = [0] * hours, [0.0] * hours
    for row in items:
        slot = int((row["at"] - start).total_seconds() // 3600)
        counts[slot] += 1
        negative[slot] += row["negative"]
    means = [negative[n] / c if c else None for n, c in enumerate(counts)]
    return Series(start, end, counts, means, [m for m in marks if m.at >= start])


def svg(series: Series | None, width: int = 720, height: int = 180) -> str:
    if series is None:
        return "<p class=muted>暂无信息</p>"
    step = width / len(series.counts)
    usable = height - 10
    parts = [(f"<svg role=img aria-label='每小时信息量与负面占比' viewBox='0 0 {width} {height + 20}' "
              f"width='100%' xmlns='http://www.w3.org/2000/svg'>")]
    for n, count in enumerate(series.counts):
        h = usable * count / series.peak
        parts.append(f"<rect x='{n * step:.1f}' y='{height - h:.1f}' width='{max(step - 1, 1):.1f}'"
                     f" height='{h:.1f}' fill='{BAR}'><title>{count}条</title></rect>")
    points = " ".join(f"{(n + 0.5) * step:.1f},{height - usable * share:.1f}"
                      for n, share in enumerate(series.negative) if share is not None)
    parts.append(f"<polyline points='{points}' fill='none' stroke='{LINE}' stroke-width='2'/>")
    for mark in series.marks:
        x = series.x(mark.at) * step
        dash = " stroke-dasharray='4 3'" if mark.colour == DEADLINE_COLOUR else ""
        parts.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='0' y2='{height}' stroke='{mark.colour}'"
                     f"{dash}><title>{escape(mark.label)}</title></line>")
    parts.append(f"<text x='0' y='{height + 16}' font-size='12'>{local_minute(series.start)}</text>"
                 f"<text x='{width}' y='{height + 16}' font-size='12' text-anchor='end'>"
                 f"{local_minute(series.end)}</text></svg>")
    return (f"<figure>{''.join(parts)}<figcaption>{CAPTION.format(peak=series.peak)}"
            "</figcaption></figure>")


def png(series: Series, width: int = 1440, height: int = 360) -> bytes:
    """The same chart as a PNG; its labels go in the caption, so no font is needed here."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    top, bottom = 10, height - 10
    usable = bottom - top
    step = width / len(series.counts)
    for n, count in enumerate(series.counts):
        h = usable * count / series.peak
        draw.rectangle((n * step, bottom - h, max(n * step, (n + 1) * step - 2), bottom),
                       fill=BAR)
    points = [((n + 0.5) * step, bottom - usable * share)
              for n, share in enumerate(series.negative) if share is not None]
    if len(points) > 1:
        draw.line(points, fill=LINE, width=4)
    for mark in series.marks:
        x = series.x(mark.at) * step
        if mark.colour == DEADLINE_COLOUR:
            for y in range(top, bottom, 16):
                draw.line(((x, y), (x, y + 8)), fill=mark.colour, width=3)
        else:
            draw.line(((x, top), (x, bottom)), fill=mark.colour, width=3)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
