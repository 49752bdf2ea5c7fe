"""A report as a plain sequence of blocks (headings, paragraphs, tables, charts), built once
and then written as HTML, Markdown or DOCX, so the three formats cannot say different things.
Every string in it is final: masked where it came from a feed or a person."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from monitor.charts import Series


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2  # 1 is the title


@dataclass(frozen=True)
class Para:
    text: str
    muted: bool = False


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]
    caption: str = ""


@dataclass(frozen=True)
class Chart:
    series: Series


Block = Heading | Para | Table | Chart


@dataclass
class Document:
    title: str
    subtitle: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> Document:
        self.blocks.extend(blocks)
        return self

    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]
