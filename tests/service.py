"""A long-running `monitor` process for tests: its output is read as it comes (a full pipe would
stop the service mid-test), a wait ends early when the process dies, and the process never
outlives the test."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    proc: asyncio.subprocess.Process
    out: bytearray = field(default_factory=bytearray)
    err: bytearray = field(default_factory=bytearray)

    @property
    def stderr(self) -> str:
        return self.err.decode(errors="replace")

    async def wait_for(self, ready: Callable[[], Awaitable[bool]], seconds: float,
                       what: str) -> None:
        """Polls `ready` every 0.1 s until it is true; fails with the service's last log lines
        if the service exits or `seconds` pass first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            if self.proc.returncode is not None:
                raise AssertionError(f"the service exited ({self.proc.returncode}) before "
                                     f"{what}:\n{self.stderr[-3000:]}")
            if await ready():
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"no {what} after {seconds:.0f} s:\n{self.stderr[-3000:]}")


async def _drain(stream: asyncio.StreamReader | None, into: bytearray) -> None:
    assert stream is not None
    while chunk := await stream.read(65536):
        into += chunk


@asynccontextmanager
async def service(*args: str, env: dict[str, str] | None = None,
                  stop_within: float = 30) -> AsyncIterator[Service]:
    """Runs `python -m monitor *args`; on leaving, stops it with SIGTERM (killing it if it has
    not stopped within `stop_within` seconds) and reads its output to the end, which comes only
    when no child process of it is left holding the output open."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", *args, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env={**os.environ, **(env or {})})
    running = Service(proc)
    readers = asyncio.gather(_drain(proc.stdout, running.out), _drain(proc.stderr, running.err))
    try:
        yield running
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), stop_within)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise AssertionError(f"the service did not stop within {stop_within:.0f} s of "
                                 f"SIGTERM:\n{running.stderr[-3000:]}") from None
        finally:
            try:
                await asyncio.wait_for(readers, 10)
            except TimeoutError:
                raise AssertionError("the service exited, but its output stayed open: a child "
                                     "process outlived it") from None
