"""A long scenario is prepared in a second process: the timeline is the same as when this
process prepares everything, bad lines included."""

from __future__ import annotations

import json
import logging
import multiprocessing
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import psutil
import pytest

from monitor.analyze.lexicon import PROJECT_DIR
from monitor.errors import MonitorError
from monitor.incidents.prepare import CHUNK, Models
from tests.incidents.conftest import Replay

DEMO = Path(__file__).parents[2] / "monitor" / "demo" / "scenario.jsonl"


async def test_a_second_process_gives_the_same_timeline(
        run_replay: Replay, caplog: pytest.LogCaptureFixture) -> None:
    lines = DEMO.read_text(encoding="utf-8").splitlines()
    last = json.loads(lines[-1])
    early = {**last, "at": "2026-01-01T00:00:00+08:00", "url": "https://late.example/1"}
    records: list[object] = [json.loads(line) for line in lines]
    records += ["{not json", early, {**last, "type": "storm"}]
    models = Models(PROJECT_DIR / "profile.yaml", PROJECT_DIR / "plans.yaml",
                    PROJECT_DIR / "models", after_lines=0)

    here = await run_replay(records)
    with caplog.at_level(logging.INFO, logger="monitor.incidents.prepare"):
        there = await run_replay(_once_the_second_process_has_loaded(records), models=models)

    assert any("second process prepares the scenario" in r.message for r in caplog.records)
    assert there == here
    errors = here[-1]["errors"]
    assert here[-1]["type"] == "errors"
    assert len(errors) == 3
    n = len(lines)
    assert errors[0].startswith(f"line {n + 1}: not JSON")
    assert errors[1].startswith(f"line {n + 2}: 'at'")
    assert "earlier" in errors[1]
    assert errors[2].startswith(f"line {n + 3}: 'type' must be")
    assert sum(e["type"] == "opened" for e in here) >= 4


def _once_the_second_process_has_loaded(records: Sequence[object]) -> Iterator[object]:
    """The records; before the second chunk, the first the second process can take, wait until
    that process has loaded its models, so that it takes over whatever the machine's pace (on a
    busy machine this process could otherwise finish the demo first)."""
    for n, record in enumerate(records):
        if n == CHUNK:
            _wait_until_the_children_are_idle()
        yield record


def _wait_until_the_children_are_idle(timeout: float = 50.0) -> None:
    """Loading the models keeps the second process busy; once loaded it waits for work."""
    me, quiet, deadline = psutil.Process(), 0, time.monotonic() + timeout
    while quiet < 2:
        if time.monotonic() > deadline:
            raise AssertionError("the second process did not finish loading its models")
        before = sum(sum(c.cpu_times()[:2]) for c in me.children())
        time.sleep(0.25)
        after = sum(sum(c.cpu_times()[:2]) for c in me.children())
        quiet = quiet + 1 if me.children() and after - before < 0.01 else 0


class _KillOnHandOver(logging.Handler):
    """Kills the second process as soon as it is handed its first lines."""

    def emit(self, record: logging.LogRecord) -> None:
        if "second process prepares" in record.getMessage():
            for child in multiprocessing.active_children():
                child.kill()


async def test_a_killed_second_process_stops_the_replay_with_a_clear_error(
        run_replay: Replay) -> None:
    records = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines()]
    models = Models(PROJECT_DIR / "profile.yaml", PROJECT_DIR / "plans.yaml",
                    PROJECT_DIR / "models", after_lines=0)
    logger = logging.getLogger("monitor.incidents.prepare")
    killer = _KillOnHandOver()
    logger.addHandler(killer)
    logger.setLevel(logging.INFO)
    try:
        with pytest.raises(MonitorError, match="preparing the scenario's items stopped"):
            await run_replay(_once_the_second_process_has_loaded(records), models=models)
    finally:
        logger.removeHandler(killer)
        logger.setLevel(logging.NOTSET)
