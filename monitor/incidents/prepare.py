"""A scenario's lines made ready for the pipeline ahead of time.

What depends on one item alone (its parsed line, its analysis, its words for the search index,
the engine's sketch and vector) is computed here, a chunk of lines at a time. A long scenario
has it done in a second process while the main one stores and decides, which is most of the
work of a replay. On a private database that held no items, the items' ids and stories are
foreseen here too (``Foresight``), in line order. The result is the same either way.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from itertools import islice
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from monitor.analyze.analyzer import Analyzer, load_analyzer
from monitor.analyze.text import plain_text
from monitor.errors import MonitorError
from monitor.gc_thresholds import collect_less
from monitor.incidents import make_engine
from monitor.incidents.engine import Engine, ItemFeatures
from monitor.incidents.scenario import InOrder, ScenarioError, Step, parse_line
from monitor.incidents.settings import INCIDENTS_PATH, NearDuplicate, load_incident_settings
from monitor.incidents.stories import StoryIndex
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
    item_id: int | None = None  # the id the store gives the item, when foreseen


class Foresight:
    """What a replay on a private database that held no items can tell of each item before the
    store and the engine see it: whether the store keeps it, the id it gets, and its story.

    The store keeps an item unless one of its source with the same identity or content hash
    was kept before (store/items.py), and gives the kept ones ids one after another from 1,
    since nothing else writes such a database; the engine's story index takes the kept items
    the engine takes, in id order. Both are replayed here, line by line, so that the story index
    runs in the process that prepares the lines instead of the one that stores and decides.
    The replay checks every batch's ids against the ones foreseen."""

    def __init__(self, settings: NearDuplicate) -> None:
        self.stories = StoryIndex(settings.containment, settings.candidates, settings.window,
                                  settings.repost_containment)
        self.next_id = 1
        self._order = InOrder()
        self._kept = _Keys()  # of (source, identity) and (source, content hash) kept

    def kept_ids(self, steps: Sequence[Step | ScenarioError]) -> dict[int, int]:
        """Line number → the id the store gives its item, for the items it keeps of these
        steps (not the actions, the lines the replay refuses, the items it already holds)."""
        checked = [self._order.check(step) for step in steps]
        items = [(s.line, s.item) for s in checked if isinstance(s, Step) and s.item is not None]
        fresh = self._kept.take([
            (_digest(i.source, "i:" + i.ident), _digest(i.source, "h:" + i.content_hash))
            for _, i in items])
        ids: dict[int, int] = {}
        for (line, _), kept in zip(items, fresh, strict=True):
            if kept:
                ids[line] = self.next_id
                self.next_id += 1
        return ids


def _digest(source: str, key: str) -> int:
    """64 bits of the pair. The two million keys of a million items share them by chance about
    once in ten million replays, and the replay then stops at its check of the ids."""
    data = f"{len(source)}:{source}{key}".encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


class _Keys:
    """A growing set of 64-bit keys at about 8 bytes a key: the older ones in a sorted array,
    looked up a chunk at a time, the latest in a set (a set costs some 80 bytes a key, which
    the keys of a million items would make 170 MB)."""

    SETTLE_AT = 1 << 16  # keys in the set before it joins the array

    def __init__(self) -> None:
        self._old = np.zeros(0, dtype=np.uint64)
        self._new: set[int] = set()

    def take(self, pairs: Sequence[tuple[int, int]]) -> list[bool]:
        """For each pair in order, whether neither of its keys was held before; the keys of
        those are held from then on."""
        old = self._old
        if len(old) and pairs:
            wanted = np.array(pairs, dtype=np.uint64)
            found = old[np.minimum(old.searchsorted(wanted), len(old) - 1)] == wanted
            held = found.any(axis=1).tolist()
        else:
            held = [False] * len(pairs)
        new = self._new
        fresh = []
        for (first, second), known in zip(pairs, held, strict=True):
            unseen = not known and first not in new and second not in new
            if unseen:
                new.add(first)
                new.add(second)
            fresh.append(unseen)
        if len(new) >= self.SETTLE_AT:
            latest = np.sort(np.fromiter(new, dtype=np.uint64, count=len(new)))
            # two sorted runs: the stable sort merges them in one pass
            self._old = np.sort(np.concatenate([old, latest]), kind="stable")
            new.clear()
        return fresh


class Preparer:
    def __init__(self, analyzer: Analyzer, engine: Engine,
                 foresight: Foresight | None = None) -> None:
        self.analyzer = analyzer
        self.engine = engine
        self.foresight = foresight

    def prepare(self, lines: Sequence[tuple[int, str]]) -> list[Prepared]:
        """(line number, line) pairs, blank lines left out, in order."""
        steps = [parse_line(number, line) for number, line in lines]
        foresight = self.foresight
        ids = foresight.kept_ids(steps) if foresight is not None else {}
        items = [(s, s.item) for s in steps if isinstance(s, Step) and s.item is not None]
        bodies = [plain_text(item.summary) for _, item in items]
        words: list[list[str]] = []
        signals = self.analyzer.analyze(
            [(item.title, body) for (_, item), body in zip(items, bodies, strict=True)], words)
        ready: dict[int, Prepared] = {}
        for (step, item), body, found, its_words in zip(items, bodies, signals, words,
                                                         strict=True):
            taken = self.engine.relevant(found)
            features = self.engine.features(item, body, found, its_words) if taken else None
            item_id = ids.get(step.line)
            if foresight is not None and item_id is not None and features is not None \
                    and features.sketch is not None:
                story = foresight.stories.add(item_id, features.sketch, item.fetched_at)
                features = replace(features, sketch=None, story=story)
            ready[step.line] = Prepared(step, signal_values(found), index_text(its_words),
                                        found if taken else None, features, item_id)
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


def _take_over(foresight: Foresight | None, lines: Sequence[tuple[int, str]]) -> list[Prepared]:
    """The first lines the second process prepares, with what was foreseen up to them."""
    if _preparer is not None:
        _preparer.foresight = foresight
    return _prepare(lines)


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
            try:
                if handed_over:
                    waiting.append(pool.submit(_prepare, chunk))
                else:
                    handed_over = True
                    log.info("a second process prepares the scenario from line %d on",
                             chunk[0][0])
                    waiting.append(pool.submit(_take_over, preparer.foresight, chunk))
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
