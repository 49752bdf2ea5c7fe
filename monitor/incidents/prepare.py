"""A scenario's lines made ready for the pipeline ahead of time.

What depends on one item alone (its parsed line, its analysis, its words for the search index,
the engine's sketch and vector) is computed here, a chunk of lines at a time. A long scenario
has it done in a second process while the main one stores and decides, which is most of the
work of a replay. The result is the same either way: nothing here depends on other items.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from itertools import islice
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from monitor.analyze.analyzer import Analyzer, load_analyzer
from monitor.analyze.text import plain_text
from monitor.errors import MonitorError
from monitor.gc_thresholds import collect_less
from monitor.incidents import make_engine
from monitor.incidents.engine import Engine, ItemFeatures
from monitor.incidents.scenario import ScenarioError, Step, parse_line
from monitor.incidents.settings import INCIDENTS_PATH, load_incident_settings
from monitor.records import Signal
from monitor.store.search import index_text
from monitor.store.signals import signal_values
from monitor.workers import follow_parent

log = logging.getLogger(__name__)
CHUNK = 500  # lines per task
AHEAD = 4  # chunks handed to the second process before the first is taken back
# A scenario shorter than this is prepared in this process: loading the models in a second one
# takes longer than such a scenario.
SECOND_PROCESS_AFTER = 10_000
SECOND_PROCESS_BYTES = 4 * 2**20  # a scenario file this long has more lines than that


@dataclass(frozen=True)
class Models:
    """Where a second process loads the same analyzer and engine settings from."""

    profile: Path
    plans: Path
    models_dir: Path
    incidents: Path = INCIDENTS_PATH
    after_lines: int = SECOND_PROCESS_AFTER  # a shorter scenario stays in this process


@dataclass(frozen=True)  # not slotted: pickled fast by its __dict__
class Prepared:
    step: Step | ScenarioError
    stored_signal: tuple[Any, ...] = ()  # an item's signal, as its columns in the store
    index: str = ""  # what the search index holds of it
    # for an item the engine takes, and only then: its signal and what the engine reads of
    # its text (the rest of the items only cross to the store)
    signal: Signal | None = None
    features: ItemFeatures | None = None


class Preparer:
    def __init__(self, analyzer: Analyzer, engine: Engine) -> None:
        self.analyzer = analyzer
        self.engine = engine

    def prepare(self, lines: Sequence[tuple[int, str]]) -> list[Prepared]:
        """(line number, line) pairs, blank lines left out, in order."""
        steps = [parse_line(number, line) for number, line in lines]
        items = [(s, s.item) for s in steps if isinstance(s, Step) and s.item is not None]
        bodies = [plain_text(item.summary) for _, item in items]
        words: list[list[str]] = []
        signals = self.analyzer.analyze(
            [(item.title, body) for (_, item), body in zip(items, bodies, strict=True)], words)
        ready: dict[int, Prepared] = {}
        for (step, item), body, found, its_words in zip(items, bodies, signals, words,
                                                         strict=True):
            taken = self.engine.relevant(found)
            ready[step.line] = Prepared(
                step, signal_values(found), index_text(its_words), found if taken else None,
                self.engine.features(item, body, found, its_words) if taken else None)
        return [ready.get(s.line) or Prepared(s) for s in steps]


_preparer: Preparer | None = None  # in the second process


def _start(models: Models) -> None:
    global _preparer
    follow_parent()
    collect_less()
    analyzer = load_analyzer(models.profile, models.plans, models.models_dir)
    _preparer = Preparer(analyzer, make_engine(analyzer, load_incident_settings(models.incidents)))


def _prepare(lines: Sequence[tuple[int, str]]) -> list[Prepared]:
    if _preparer is None:
        raise RuntimeError("the preparing process was started without its models")
    return _preparer.prepare(lines)


def _ready() -> bool:
    return True


async def prepared(lines: Iterable[str], preparer: Preparer,
                   models: Models | None = None) -> AsyncIterator[list[Prepared]]:
    """Every non-blank line, prepared, in order, a chunk at a time. With ``models``, a
    scenario longer than ``models.after_lines`` goes on in a second process once that process
    has loaded them; until then this one prepares."""
    numbered = ((n, line) for n, line in enumerate(lines, 1) if line.strip())
    chunks = iter(lambda: list(islice(numbered, CHUNK)), [])
    pool: ProcessPoolExecutor | None = None
    loaded: Future[bool] | None = None  # done once the second process has its models
    waiting: deque[Future[list[Prepared]]] = deque()
    seen, handed_over = 0, False
    try:
        for chunk in chunks:
            seen += len(chunk)
            if pool is None and models is not None and seen > models.after_lines:
                pool = ProcessPoolExecutor(1, mp_context=get_context("spawn"),
                                           initializer=_start, initargs=(models,))
                loaded = pool.submit(_ready)
            if pool is None or loaded is None or not loaded.done():
                yield preparer.prepare(chunk)
                continue
            if not handed_over:
                handed_over = True
                log.info("a second process prepares the scenario from line %d on", chunk[0][0])
            try:
                waiting.append(pool.submit(_prepare, chunk))
            except BrokenProcessPool as exc:
                raise _stopped(exc) from exc
            if len(waiting) >= AHEAD:
                yield await _result(waiting.popleft())
        while waiting:
            yield await _result(waiting.popleft())
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


async def _result(future: Future[list[Prepared]]) -> list[Prepared]:
    try:
        return await asyncio.wrap_future(future)
    except BrokenProcessPool as exc:
        raise _stopped(exc) from exc


def _stopped(exc: BrokenProcessPool) -> MonitorError:
    return MonitorError("the process preparing the scenario's items stopped unexpectedly "
                        f"({exc}); run the replay again")
