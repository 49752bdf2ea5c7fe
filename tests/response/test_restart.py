"""A real `monitor clocks run` process killed by SIGKILL at chosen points: after restart
nothing due is lost and nothing is done twice. Two processes on one database never both act
on one due action."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.incidents.conftest import DISPUTE, START, action, item

UNTIL = (START + timedelta(hours=30)).isoformat()


def monitor(db: Path, *args: str, failpoints: str = "", **kwargs: Any
            ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MONITOR_DB": f"sqlite:///{db}", "MONITOR_FAILPOINTS": failpoints}
    return subprocess.run([sys.executable, "-m", "monitor", *args], env=env, text=True,
                          capture_output=True, timeout=120, check=False, **kwargs)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A level-II incident whose clocks run, half an hour in, and a time of occurrence
    entered that the clocks have not seen yet: following it and doing everything due for
    the next 30 hours is the work to interrupt."""
    base = tmp_path_factory.mktemp("restart")
    scenario = base / "dispute.jsonl"
    records = [item(i * 6, s, f"https://d.example/{i}", t, b)
               for i, (s, t, b) in enumerate(DISPUTE)]
    records.append(action(31, "confirm", "https://d.example/0", level="II"))
    scenario.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                        encoding="utf-8")
    db = base / "prepared.db"
    assert monitor(db, "replay", str(scenario), "--db", f"sqlite:///{db}").returncode == 0
    done = monitor(db, "incident", "occurred", "1", "--time", "2026-03-02T07:30+08:00",
                   "--by", "值班员甲")
    assert done.returncode == 0, done.stderr
    return db


def outcome(db: Path) -> tuple[list[tuple[Any, ...]], list[str], Counter[str]]:
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        events = [tuple(r) for r in conn.execute(text(
            "SELECT incident_id, at, type, actor, data FROM timeline ORDER BY id"))]
        keys = [r[0] for r in conn.execute(text("SELECT key FROM outbox ORDER BY key"))]
        actions = Counter(r[0] for r in conn.execute(text(
            "SELECT status FROM due_actions")))
    engine.dispose()
    return events, keys, actions


@pytest.fixture(scope="module")
def reference(prepared: Path, tmp_path_factory: pytest.TempPathFactory
              ) -> tuple[list[tuple[Any, ...]], list[str], Counter[str]]:
    db = tmp_path_factory.mktemp("reference") / "m.db"
    shutil.copy(prepared, db)
    done = monitor(db, "clocks", "run", "--until", UNTIL)
    assert done.returncode == 0, done.stderr
    result = outcome(db)
    # what fell due while nothing ran is done at once and says how late it is
    late = [json.loads(e[4]) for e in result[0] if e[2] in ("reminder", "deadline_missed")]
    assert late
    assert all(d["late"] and d["late_by_minutes"] > 0 for d in late)
    return result


@pytest.mark.parametrize("point", [
    "response.mid_events=1",  # while following the confirmation
    "response.after_claim=3",  # an action claimed, nothing else written
    "response.after_outbox=5",  # its event and alerts written, not committed
    "response.between_actions=7",  # in the middle of a run, some actions committed
])
def test_killed_mid_work_loses_nothing_and_repeats_nothing(
        point: str, prepared: Path, reference: tuple[list[tuple[Any, ...]], list[str],
                                                     Counter[str]], tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    shutil.copy(prepared, db)
    killed = monitor(db, "clocks", "run", "--until", UNTIL, failpoints=point)
    assert killed.returncode == -signal.SIGKILL
    again = monitor(db, "clocks", "run", "--until", UNTIL)
    assert again.returncode == 0, again.stderr
    events, keys, actions = outcome(db)
    ref_events, ref_keys, ref_actions = reference
    assert events == ref_events
    assert keys == ref_keys
    assert actions == ref_actions


def test_two_processes_on_one_database_never_both_act(
        prepared: Path, reference: tuple[list[tuple[Any, ...]], list[str], Counter[str]],
        tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    shutil.copy(prepared, db)
    env = {**os.environ, "MONITOR_DB": f"sqlite:///{db}"}
    runs = [subprocess.Popen([sys.executable, "-m", "monitor", "clocks", "run", "--until",
                              UNTIL], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    events, keys, actions = outcome(db)
    ref_events, ref_keys, ref_actions = reference
    # the same events, each once (the order may interleave between the two processes)
    assert Counter(e[2:] for e in events) == Counter(e[2:] for e in ref_events)
    assert keys == ref_keys
    assert actions == ref_actions
    # between them the two did each due action once
    _, _, before = outcome(prepared)
    done = [int(out.split(" due actions done")[0].rsplit(", ", 1)[1]) for out, _ in outputs]
    assert sum(done) == ref_actions["done"] - before["done"] > 10


def test_a_policy_edit_does_not_change_a_running_incident(prepared: Path,
                                                          tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    shutil.copy(prepared, db)
    policy = (Path(__file__).parents[2] / "alerts" / "policy.yaml").read_text(encoding="utf-8")
    edited = tmp_path / "policy.yaml"
    edited.write_text(policy.replace("within: 5h, hard: true", "within: 1h, hard: true"),
                      encoding="utf-8")
    config = tmp_path / "monitor.yaml"
    config.write_text("policy: policy.yaml\n", encoding="utf-8")
    assert monitor(db, "incident", "confirm", "1", "--level", "I", "--by", "值班员甲",
                   "--config", str(config)).returncode == 0
    done = monitor(db, "clocks", "run", "--until", UNTIL, "--config", str(config))
    assert done.returncode == 0, done.stderr
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        start, due = conn.execute(text(
            "SELECT c.start_at, d.due_at FROM clocks c JOIN deadlines d "
            "ON d.incident_id = c.incident_id WHERE d.key = 'release'")).one()
        level = conn.execute(text("SELECT level FROM clocks")).scalar_one()
    engine.dispose()
    assert level == "I"
    hours = (datetime.fromisoformat(str(due)) - datetime.fromisoformat(str(start)))
    assert hours == timedelta(hours=5)  # as frozen when the clocks started, not 1 h
