"""The stages' idle wait: until woken or a while has passed."""

from __future__ import annotations

import asyncio
import contextlib


async def until_woken(wake: asyncio.Event, seconds: float) -> None:
    """Until ``wake`` is set or ``seconds`` have passed. A cancellation always gets through:
    asyncio.wait_for (Python 3.11) returns normally instead when the event is set in the same
    turn of the loop as the task is cancelled, and a stage's loop then never stops, nor the
    service with it."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await wake.wait()
