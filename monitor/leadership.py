"""One pipeline leader among any number of `monitor run` processes on one database.

The stages that must run once (collect, analyse, incidents, clocks, sending, scheduled
reports) run in the process holding the pipeline lease; every other process serves the
dashboard and the API and stands by. The leader renews the lease every quarter of its time;
a leader that cannot renew for three quarters of it stops its stages, before the lease runs
out for the others, and every pipeline write checks the lease's generation (fencing), so a
leader that was paused or cut off writes nothing once another has taken over. A standby
takes the lease once it has run out and starts the stages afresh from the store."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy import Connection

from monitor.store import Store
from monitor.store.leases import Lease, LeaseLost, acquire, check, current, release, renew

log = logging.getLogger(__name__)
PIPELINE = "pipeline"
STEP_DOWN_SHARE = 0.75  # of the lease time without a renewal: stop before others may start


def holder_name() -> str:
    """This process, as operators read it in /healthz and the log: host, pid and a nonce
    (a pid comes back after a restart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Leadership:
    def __init__(self, store: Store, ttl_s: float,
                 on_lead: Callable[[], Awaitable[None]],
                 on_lose: Callable[[], Awaitable[None]], holder: str | None = None) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self.holder = holder or holder_name()
        self.on_lead, self.on_lose = on_lead, on_lose
        self.lease: Lease | None = None
        self._renewed = 0.0  # monotonic time of the last renewal
        self._lost = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.since: datetime | None = None  # when this process took the lease

    @property
    def role(self) -> str:
        return "leader" if self.lease is not None else "standby"

    def check(self, conn: Connection) -> None:
        """The fence of every pipeline transaction (Store.fenced)."""
        lease = self.lease
        if lease is None:
            raise LeaseLost("this process does not hold the pipeline lease")
        try:
            check(conn, lease)
        except LeaseLost:
            if self._loop is not None:  # this runs on the store's thread
                self._loop.call_soon_threadsafe(self._lost.set)
            raise

    async def holder_now(self) -> Lease | None:
        return await self.store.run(lambda c: current(c, PIPELINE))

    async def try_to_lead(self) -> bool:
        """One attempt; True when this process leads (now or already)."""
        if self.lease is not None:
            return True
        self._loop = asyncio.get_running_loop()
        ttl, holder = self.ttl_s, self.holder
        lease = await self.store.run(lambda c: acquire(c, PIPELINE, holder, ttl))
        if lease is None:
            return False
        self.lease, self._renewed = lease, time.monotonic()
        self.since = datetime.now(UTC)
        self._lost.clear()
        log.warning("leading the pipeline: took the lease (generation %d) as %s",
                    lease.generation, holder)
        try:
            await self.on_lead()
        except Exception:
            log.exception("the pipeline failed to start; handing the lease on")
            await self.step_down("the pipeline failed to start")
            return False
        return True

    async def step_down(self, why: str) -> None:
        lease, self.lease, self.since = self.lease, None, None
        if lease is None:
            return
        log.warning("stepping down from leading the pipeline (generation %d): %s",
                    lease.generation, why)
        await self.on_lose()

    async def run(self) -> None:
        """Renew while leading, try to lead while standing by, until cancelled; a clean stop
        hands the lease on at once."""
        every = self.ttl_s / 4
        try:
            while True:
                await self._beat()
                try:
                    await asyncio.wait_for(self._lost.wait(), every)
                except TimeoutError:
                    pass
        finally:
            lease, self.lease = self.lease, None
            if lease is not None:
                try:
                    await self.store.run(lambda c: release(c, lease))
                except Exception:  # noqa: BLE001 (stopping: the lease runs out anyway)
                    log.warning("could not hand the lease on; it runs out in %.0f s",
                                self.ttl_s)

    async def _beat(self) -> None:
        try:
            if self._lost.is_set() and self.lease is not None:
                await self.step_down("another process holds the lease now")
            elif self.lease is None:
                await self.try_to_lead()
            else:
                lease, ttl = self.lease, self.ttl_s
                renewed = await self.store.run(lambda c: renew(c, lease, ttl))
                if renewed is None:
                    await self.step_down("the lease ran out and another process took it")
                else:
                    self.lease, self._renewed = renewed, time.monotonic()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 (the database may be away; we try again)
            log.warning("pipeline lease: the database did not answer (%s); trying again", exc)
        silent = time.monotonic() - self._renewed
        if self.lease is not None and silent > STEP_DOWN_SHARE * self.ttl_s:
            await self.step_down(f"no renewal for {silent:.0f} s (database unreachable?)")
