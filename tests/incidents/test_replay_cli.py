"""`monitor replay` gives the same timeline in every process, whatever its string hashing."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

DEMO = Path(__file__).parents[2] / "monitor" / "demo" / "scenario.jsonl"


async def replay(seed: str) -> bytes:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", "replay", str(DEMO),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONHASHSEED": seed})
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()[-2000:]
    return out


async def test_the_timeline_does_not_depend_on_the_process() -> None:
    first, second = await asyncio.gather(replay("1"), replay("2"))
    assert first == second
    assert first.count(b'"type": "opened"') >= 4
