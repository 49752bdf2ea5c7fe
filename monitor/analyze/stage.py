"""The analysis stage of the service: every stored item without a signal gets one.

The store is the queue: items are read back by "no signal yet", so items stored while the
service was down, or while analysis failed, are analysed at the next pass; nothing waits in
memory only."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from functools import partial

from sqlalchemy import Connection

from monitor.analyze.analyzer import Analyzer
from monitor.analyze.text import plain_text
from monitor.clock import Clock
from monitor.records import Signal
from monitor.store import Store
from monitor.store.search import index_items
from monitor.store.signals import put_signals, unanalysed
from monitor.waiting import until_woken

log = logging.getLogger(__name__)
SUMMARY_S = 60.0


class AnalysisStage:
    # A batch is analysed on the event loop's thread; 200 items take a few milliseconds.
    BATCH = 200
    IDLE_CHECK_S = 60.0  # look for stragglers even when nobody wakes us

    def __init__(self, store: Store, analyzer: Analyzer, clock: Clock) -> None:
        self.store = store
        self.analyzer = analyzer
        self.clock = clock
        self._wake = asyncio.Event()
        self.on_analysed: Callable[[], None] | None = None  # the next stage's wake-up
        # Every item up to this id has a signal (analysis goes in id order), so the query for
        # waiting items need not walk the whole table again.
        self._done_up_to = 0
        self._summary = [0, 0, 0]  # analysed, health-related, plan hits since the last line
        self._said_at = -SUMMARY_S  # monotonic time of the last summary line

    def wake(self) -> None:
        """New items were stored."""
        self._wake.set()

    async def analyse_pending(self) -> int:
        """Analyse everything that waits; returns how many items were analysed."""
        total = 0
        while True:
            items = await self.store.run(
                partial(unanalysed, limit=self.BATCH, after=self._done_up_to))
            if not items:
                return total
            words: list[list[str]] = []
            signals = self.analyzer.analyze([(i.title, plain_text(i.summary)) for i in items],
                                            words)
            stamped = [replace(s, item_id=i.id) for i, s in zip(items, signals, strict=True)]
            now = self.clock.now()
            indexed = [(i.id or 0, w) for i, w in zip(items, words, strict=True)]
            await self.store.run(partial(_store, signals=stamped, now=now, words=indexed))
            self._done_up_to = items[-1].id or self._done_up_to
            total += len(items)
            if self.on_analysed is not None:
                self.on_analysed()
            self._tally(stamped)
            if len(items) < self.BATCH:  # that was the last of them
                return total
            await asyncio.sleep(0)  # let fetches and web requests run between batches

    def _tally(self, signals: list[Signal]) -> None:
        """One line a minute at most, however many batches: a busy collector must not fill
        the log with a line per batch."""
        counts = self._summary
        counts[0] += len(signals)
        counts[1] += sum(s.health for s in signals)
        counts[2] += sum(bool(s.plans) for s in signals)
        now = time.monotonic()
        if now - self._said_at >= SUMMARY_S:
            log.info("analysed %d items: %d health-related, %d hit a watch plan", *counts)
            self._summary, self._said_at = [0, 0, 0], now

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.analyse_pending()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("analysis failed; the items stay queued and are retried")
            await until_woken(self._wake, self.IDLE_CHECK_S)


def _store(conn: Connection, signals: list[Signal], now: datetime,
           words: list[tuple[int, list[str]]]) -> None:
    put_signals(conn, signals, now)
    index_items(conn, words)
