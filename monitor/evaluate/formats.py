"""A report document written as HTML (for the screen and for print), Markdown, or DOCX (what
offices exchange). The text is escaped for each format; nothing is loaded from elsewhere."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from html import escape

from monitor import charts
from monitor.charts import Series
from monitor.clock import SHANGHAI
from monitor.evaluate.document import Chart, Document, Heading, Para, Table

FORMATS = ("html", "md", "docx", "pdf")
TEXT_HOURS = 48  # a chart longer than this is told by its peak and its days in text
TEXT_DAYS = 14
PRINT_STYLE = """body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei",
sans-serif;color:#222;max-width:60rem;margin:1rem auto;padding:0 1rem;line-height:1.5}
h1{font-size:1.5rem;text-align:center;margin-bottom:.2rem}.subtitle{text-align:center;color:#555}
h2{font-size:1.2rem;border-bottom:2px solid #c62828;padding-bottom:.2rem;margin-top:1.5rem}
h3{font-size:1.05rem}table{border-collapse:collapse;width:100%;margin:.5rem 0}
td,th{border:1px solid #bbb;padding:.25rem .4rem;text-align:left;vertical-align:top}
th{background:#f2f2f2}caption{caption-side:bottom;text-align:left;color:#666;font-size:.85rem}
.muted{color:#777}figure{margin:.5rem 0}figcaption{color:#666;font-size:.85rem}
@page{size:A4;margin:15mm}@media print{body{max-width:none;margin:0;padding:0}
h2,h3{break-after:avoid}tr,figure{break-inside:avoid}}
@media screen and (max-width:640px){body{padding:0 .5rem}table{display:block;overflow-x:auto}}"""


def to_html(doc: Document) -> str:
    return (f"<!doctype html><html lang=zh-CN><meta charset=utf-8><meta name=viewport "
            f"content='width=device-width'><title>{escape(doc.title)}</title>"
            f"<style>{PRINT_STYLE}</style><body><h1>{escape(doc.title)}</h1>"
            f"<p class=subtitle>{escape(doc.subtitle)}</p>\n{html_blocks(doc)}</body></html>")


def html_blocks(doc: Document) -> str:
    """The blocks alone, for a page that has its own frame."""
    out = []
    for block in doc.blocks:
        if isinstance(block, Heading):
            out.append(f"<h{block.level}>{escape(block.text)}</h{block.level}>")
        elif isinstance(block, Para):
            muted = " class=muted" if block.muted else ""
            out.append(f"<p{muted}>{escape(block.text)}</p>")
        elif isinstance(block, Table):
            caption = f"<caption>{escape(block.caption)}</caption>" if block.caption else ""
            head = "".join(f"<th>{escape(h)}</th>" for h in block.headers)
            rows = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                           for row in block.rows)
            out.append(f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody>"
                       "</table>")
        elif isinstance(block, Chart):
            out.append(charts.svg(block.series))
    return "\n".join(out)


def local_hour(at: datetime) -> str:
    return at.astimezone(SHANGHAI).strftime("%m-%d %H:00")


def _md_cell(text: str) -> str:
    """After _md_text: a table cell is one line, and its pipes are not column breaks."""
    return text.replace("|", "\\|").replace("\n", " ")


def _md_text(text: str) -> str:
    """Markdown's own characters in feed text must not become formatting or links."""
    for ch in "\\`*_[]<>#":
        text = text.replace(ch, "\\" + ch)
    return text


def to_markdown(doc: Document) -> str:
    out = [f"# {_md_text(doc.title)}", "", f"*{_md_text(doc.subtitle)}*", ""] if doc.title else []
    for block in doc.blocks:
        if isinstance(block, Heading):
            out += [f"{'#' * block.level} {_md_text(block.text)}", ""]
        elif isinstance(block, Para):
            out += [f"*{_md_text(block.text)}*" if block.muted else _md_text(block.text), ""]
        elif isinstance(block, Table):
            out.append("| " + " | ".join(_md_cell(_md_text(h)) for h in block.headers) + " |")
            out.append("|" + "---|" * len(block.headers))
            out += ["| " + " | ".join(_md_cell(_md_text(c)) for c in row) + " |"
                    for row in block.rows]
            out += (["", f"*{_md_text(block.caption)}*"] if block.caption else []) + [""]
        elif isinstance(block, Chart):
            out += [_chart_text(block.series), ""]
    return "\n".join(out)


def _chart_text(s: Series) -> str:
    """The chart in words: hour by hour for up to two days, else the peak and the days."""
    if len(s.counts) <= TEXT_HOURS:
        return f"每小时信息量（{local_hour(s.start)}起）：" + " ".join(str(c) for c in s.counts)
    peak = max(range(len(s.counts)), key=s.counts.__getitem__)
    days: dict[str, int] = {}
    for n, count in enumerate(s.counts):
        if count:
            day = (s.start + timedelta(hours=n)).astimezone(SHANGHAI).strftime("%m-%d")
            days[day] = days.get(day, 0) + count
    shown = list(days.items())
    listed = "、".join(f"{d} {c}条" for d, c in shown[:TEXT_DAYS])
    more = f"等{len(shown)}天" if len(shown) > TEXT_DAYS else ""
    return (f"共{len(s.counts)}小时（{local_hour(s.start)}起），峰值"
            f"{local_hour(s.start + timedelta(hours=peak))} {s.counts[peak]}条/小时；"
            f"有信息的日期：{listed}{more}")


def to_docx(doc: Document) -> bytes:
    from docx import Document as Docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt, RGBColor

    out = Docx()
    normal = out.styles["Normal"]
    normal.font.size = Pt(10.5)
    # Word picks the East Asian font from its own attribute, not from font.name
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")
    title = out.add_heading(doc.title, level=0)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    sub = out.add_paragraph(doc.subtitle)
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for block in doc.blocks:
        if isinstance(block, Heading):
            out.add_heading(block.text, level=min(block.level, 3))
        elif isinstance(block, Para):
            run = out.add_paragraph().add_run(block.text)
            if block.muted:
                run.font.color.rgb = RGBColor(0x77, 0x77, 0x77)
        elif isinstance(block, Table):
            table = out.add_table(rows=1, cols=len(block.headers))
            table.style = "Table Grid"
            for cell, text in zip(table.rows[0].cells, block.headers, strict=True):
                cell.text = text
                for run in cell.paragraphs[0].runs:
                    run.font.bold = True
            for row in block.rows:
                for cell, text in zip(table.add_row().cells, row, strict=True):
                    cell.text = text
            if block.caption:
                out.add_paragraph(block.caption).runs[0].font.size = Pt(9)
        elif isinstance(block, Chart):
            out.add_picture(io.BytesIO(charts.png(block.series)), width=Cm(16))
            out.add_paragraph(charts.CAPTION.format(peak=block.series.peak)
                              + f"；{local_hour(block.series.start)}起，每格一小时"
                              ).runs[0].font.size = Pt(9)
    buffer = io.BytesIO()
    out.save(buffer)
    return buffer.getvalue()
