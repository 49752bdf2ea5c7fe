"""Excel workbooks of what the dashboard shows (the situation of a period, an incident's
items): Chinese headers, times in Beijing time, links that open, and every text kept as text.
A title that begins with = is a formula to Excel; here it stays the words it is."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from monitor.clock import SHANGHAI

Cell = str | int | float | datetime | tuple[str, str] | None  # (text, URL) is a link
HEADER_FILL = PatternFill("solid", fgColor="DCE6F2")
MAX_WIDTH = 60
LINK_FONT = Font(color="1E5AA8", underline="single")  # one object: a new one per cell is slow


@dataclass(frozen=True)
class Sheet:
    title: str  # at most 31 characters, as Excel allows
    headers: Sequence[str]
    rows: Sequence[Sequence[Cell]]
    widths: Sequence[int] = field(default_factory=tuple)  # characters, by column


def workbook(sheets: Sequence[Sheet]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for sheet in sheets:
        ws = book.create_sheet(sheet.title[:31])
        ws.append(list(sheet.headers))
        for cell in ws[1]:
            cell.font, cell.fill = Font(bold=True), HEADER_FILL
        # rows by number: ws.max_row scans every cell, which made a long sheet quadratic
        for number, row in enumerate(sheet.rows, 2):
            for column, value in enumerate(row, 1):
                _put(ws.cell(number, column), value)
        ws.freeze_panes = "A2"
        for column, header in enumerate(sheet.headers, 1):
            width = sheet.widths[column - 1] if column <= len(sheet.widths) else \
                min(MAX_WIDTH, max(len(str(header)) * 2 + 2, 10))
            ws.column_dimensions[get_column_letter(column)].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _put(cell: object, value: Cell) -> None:
    if isinstance(value, tuple):
        text, url = value
        _text(cell, text)
        if urlsplit(url).scheme in ("http", "https"):
            cell.hyperlink = url  # type: ignore[attr-defined]
            cell.font = LINK_FONT  # type: ignore[attr-defined]
    elif isinstance(value, datetime):
        cell.value = value.astimezone(SHANGHAI).replace(tzinfo=None)  # type: ignore[attr-defined]
        cell.number_format = "yyyy-mm-dd hh:mm"  # type: ignore[attr-defined]
    elif isinstance(value, str):
        _text(cell, value)
    else:
        cell.value = value  # type: ignore[attr-defined]


def _text(cell: object, text: str) -> None:
    # openpyxl takes a string beginning with = for a formula; the type says it is text
    cell.value = text  # type: ignore[attr-defined]
    cell.data_type = "s"  # type: ignore[attr-defined]
