"""A report as a plain sequence of blocks (headings, paragraphs, tables, charts), built once
and then written as HTML, Markdown or DOCX, so the three formats cannot say different things.
Every string in it is final: masked where it came from a feed or a person."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

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

# Control characters and lone surrogates come in with feed text now and then; XML (DOCX) and
# UTF-8 (every format) refuse them, and one must not cost the whole report.
_UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def clean(text: str) -> str:
    return _UNWRITABLE.sub("", text)


def _cleaned(block: Block) -> Block:
    if isinstance(block, Heading | Para):
        return replace(block, text=clean(block.text))
    if isinstance(block, Table):
        return replace(block, headers=tuple(map(clean, block.headers)),
                       rows=[tuple(map(clean, row)) for row in block.rows],
                       caption=clean(block.caption))
    return block


@dataclass
class Document:
    title: str
    subtitle: str
    blocks: list[Block] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.title, self.subtitle = clean(self.title), clean(self.subtitle)

    def add(self, *blocks: Block) -> Document:
        self.blocks.extend(map(_cleaned, blocks))
        return self

    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]
