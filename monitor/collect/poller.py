"""Polls sources, each on its own schedule; stores new items and each source's health.

Nothing one source does can stop another: every failure is caught here, recorded in the
source's health row and turned into a later retry."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from multiprocessing import get_context

from sqlalchemy import Connection

from monitor.clock import Clock
from monitor.collect import schedule
from monitor.collect.decode import ParsedFeed, decode_feed
from monitor.collect.fetch import Fetcher, FetchResult, Validators
from monitor.config import FetchSettings
from monitor.errors import SourceError
from monitor.records import FetchStatus, Source, SourceHealth
from monitor.store import Store
from monitor.store.items import entries_last_week, insert_new
from monitor.store.sources import all_health, get_health, put_health
from monitor.workers import follow_parent

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PollReport:
    source: str
    status: FetchStatus
    http_status: int | None = None
    new: int = 0
    reposts: int = 0
    seconds: float = 0.0
    error: str | None = None
    warning: str | None = None
    next_check_at: datetime | None = None


def parser_pool() -> ProcessPoolExecutor:
    """Worker processes for feed parsing, which is CPU-bound: one per core but one, so the
    event loop and the store writer keep a core. Spawned, not forked: the parent has threads."""
    workers = max(1, (os.cpu_count() or 2) - 1)
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                               initializer=follow_parent)


class Poller:
    def __init__(self, store: Store, fetcher: Fetcher, clock: Clock,
                 on_report: Callable[[PollReport], None] | None = None,
                 parse_executor: Executor | None = None) -> None:
        """``parse_executor``: where decode_feed runs; None is the loop's thread pool."""
        self.store = store
        self.parse_executor = parse_executor
        self.fetcher = fetcher
        self.clock = clock
        self.settings: FetchSettings = fetcher.settings
        self._on_report = on_report

    async def poll_once(self, sources: Sequence[Source]) -> list[PollReport]:
        """Poll every enabled source once, now, whatever its schedule says."""
        health = await self.store.run(all_health)
        active = [s for s in sources if s.enabled]
        self._log_long_rounds(active)
        return list(await asyncio.gather(*(self.poll(s, health.get(s.name)) for s in active)))

    def _log_long_rounds(self, sources: Sequence[Source]) -> None:
        for host, (count, seconds) in self.fetcher.long_rounds(sources).items():
            limits = self.fetcher.throttle.of(host)
            log.info("host %s: %d sources, %d at a time and %.1f s apart, so a round of them "
                     "takes at least %.0f s; set `hosts: {%s: {gap: ...}}` in sources.yaml "
                     "if the server allows more", host, count, limits.concurrency, limits.gap,
                     seconds, host)

    async def run(self, sources: Sequence[Source]) -> None:
        """Poll forever, each enabled source on its own schedule, until cancelled."""
        self._log_long_rounds([s for s in sources if s.enabled])
        async with asyncio.TaskGroup() as group:
            for source in sources:
                if source.enabled:
                    group.create_task(self._source_loop(source), name=f"poll:{source.name}")

    async def _source_loop(self, source: Source) -> None:
        health = await self.store.run(lambda conn: get_health(conn, source.name))
        while True:
            if health is not None and health.url == source.url:
                if health.status is FetchStatus.GONE:
                    log.warning("source=%s gone (HTTP 410); not polled until its URL changes",
                                source.name)
                    return
                if health.next_check_at is not None:
                    wait = (health.next_check_at - self.clock.now()).total_seconds()
                    if wait > 0:
                        await self.clock.sleep(wait)
            await self.poll(source, health)
            health = await self.store.run(lambda conn: get_health(conn, source.name))

    async def poll(self, source: Source, health: SourceHealth | None) -> PollReport:
        if health is None or health.url != source.url:  # new source, or its URL was changed
            health = SourceHealth(source=source.name, url=source.url)
        if health.status is FetchStatus.GONE:
            return PollReport(source.name, FetchStatus.GONE, health.http_status,
                              error="HTTP 410 Gone earlier; fix or remove its URL in sources.yaml")
        # no slot here: the fetcher queues each request for its host, then for a connection
        started = time.monotonic()
        try:
            report = await self._poll(source, health)
        except SourceError as exc:
            report = await self._record_failure(source, health, exc)
        except Exception as exc:  # a bug must not stop the other sources
            log.exception("source=%s unexpected error", source.name)
            report = await self._record_failure(
                source, health, SourceError(source.name, f"internal error: {exc!r}",
                                            fault="internal"))
        report = replace(report, seconds=round(time.monotonic() - started, 3))
        if self._on_report:
            self._on_report(report)
        return report

    async def _poll(self, source: Source, health: SourceHealth) -> PollReport:
        validators = Validators(health.etag, health.last_modified)
        result = await self.fetcher.fetch(source, validators)
        now = self.clock.now()
        body_hash = hashlib.sha256(result.body).hexdigest() if result.body is not None else None
        parsed: ParsedFeed | None = None
        if result.body is not None and body_hash != health.body_hash:
            loop = asyncio.get_running_loop()
            parsed = await loop.run_in_executor(
                self.parse_executor, decode_feed, result.body, result.content_type, source, result.final_url,
                now)

        def write(conn: Connection) -> PollReport:
            return self._record_success(conn, source, health, result, parsed, body_hash, now)

        return await self.store.run(write)

    def _record_success(self, conn: Connection, source: Source, health: SourceHealth,
                        result: FetchResult, parsed: ParsedFeed | None, body_hash: str | None,
                        now: datetime) -> PollReport:
        new = reposts = 0
        if parsed is not None:
            inserted = insert_new(conn, source.name, parsed.items, now)
            new, reposts = len(inserted.ids), inserted.reposts
        week = entries_last_week(conn, source.name, now)
        interval = schedule.after_success(source.interval_s, self.settings.max_interval, week,
                                          (result.cache_hint_s, parsed.ttl_s if parsed else None))
        warnings = result.warnings + (parsed.warnings if parsed else [])
        status = FetchStatus.OK if parsed is not None else FetchStatus.NOT_MODIFIED
        updated = replace(
            health, status=status, http_status=result.status, last_attempt_at=now,
            last_success_at=now, last_error=None, fault=None,
            last_warning="; ".join(warnings) or None,
            consecutive_failures=0, next_check_at=now + timedelta(seconds=interval),
            etag=result.validators.etag or health.etag,
            last_modified=result.validators.last_modified or health.last_modified,
            body_hash=body_hash or health.body_hash, entries_per_day=round(week / 7, 2))
        put_health(conn, updated)
        if warnings:
            log.warning("source=%s warning=%s", source.name, updated.last_warning)
        return PollReport(source.name, status, result.status, new, reposts,
                          warning=updated.last_warning, next_check_at=updated.next_check_at)

    async def _record_failure(self, source: Source, health: SourceHealth,
                              exc: SourceError) -> PollReport:
        now = self.clock.now()
        if exc.fault == "busy":
            # the host asked everyone to wait: the source is not broken, and no back-off
            # grows; it is asked again once the host said it may be
            wait = max(exc.retry_after_s or 0.0, float(self.settings.host_gap), 1.0)
            updated = replace(health, status=FetchStatus.BUSY, http_status=exc.http_status,
                              last_attempt_at=now, last_error=exc.reason, fault="busy",
                              next_check_at=now + timedelta(seconds=wait))
            await self.store.run(lambda conn: put_health(conn, updated))
            log.info("source=%s host busy, asked again in %.0f s: %s", source.name, wait,
                     exc.reason)
            return PollReport(source.name, FetchStatus.BUSY, exc.http_status, error=exc.reason,
                              next_check_at=updated.next_check_at)
        failures = health.consecutive_failures + 1
        gone = exc.http_status == 410
        interval = schedule.after_failure(source.interval_s, self.settings.max_interval,
                                          failures, exc.retry_after_s)
        status = FetchStatus.GONE if gone else FetchStatus.ERROR
        updated = replace(
            health, status=status, http_status=exc.http_status, last_attempt_at=now,
            last_error=exc.reason, fault=exc.fault or "feed", consecutive_failures=failures,
            next_check_at=None if gone else now + timedelta(seconds=interval))
        await self.store.run(lambda conn: put_health(conn, updated))
        log.warning("source=%s status=%s failures=%d retry_in=%ss error=%s", source.name,
                    exc.http_status or "-", failures, "never" if gone else interval, exc.reason)
        return PollReport(source.name, status, exc.http_status, error=exc.reason,
                          next_check_at=updated.next_check_at)
