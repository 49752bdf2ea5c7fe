"""A stage's idle wait lets a cancellation through even when a wake-up comes in the same turn
of the loop, so that the service always stops on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable

import pytest

from monitor.waiting import until_woken

Wait = Callable[[asyncio.Event, float], Awaitable[None]]


async def wait_for_wait(wake: asyncio.Event, seconds: float) -> None:
    """The stages' wait before: asyncio.wait_for around the event."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wake.wait(), seconds)


async def woken_and_cancelled_at_once(wait: Wait) -> bool:
    """Whether a loop waiting with ``wait`` stops when it is woken and cancelled in one turn."""
    wake = asyncio.Event()
    turns = 0

    async def stage() -> None:
        nonlocal turns
        while turns < 3:  # a stage's loop, bounded so that a lost cancellation cannot hang
            turns += 1
            wake.clear()
            await wait(wake, 0.5)

    task = asyncio.create_task(stage())
    await asyncio.sleep(0.01)  # the stage is waiting
    wake.set()
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        return turns == 1
    return False


async def test_a_cancellation_with_a_wake_up_stops_the_loop() -> None:
    assert await woken_and_cancelled_at_once(until_woken)


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="wait_for was rewritten in 3.12")
async def test_the_race_is_real_with_wait_for() -> None:
    # what the test above guards against: on Python 3.11 this cancellation is lost
    assert not await woken_and_cancelled_at_once(wait_for_wait)


async def test_the_wait_ends_when_woken_or_after_the_time() -> None:
    wake = asyncio.Event()
    loop = asyncio.get_running_loop()
    start = loop.time()
    await until_woken(wake, 0.2)
    assert loop.time() - start >= 0.2
    loop.call_later(0.05, wake.set)
    start = loop.time()
    await until_woken(wake, 30)
    assert loop.time() - start < 5
