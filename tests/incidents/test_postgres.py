"""The store on a real PostgreSQL server, started for these tests from the system's binaries:
the demo scenario gives the same timeline as on SQLite, so every statement of the pipeline
(the plain SQL of the hot paths included) runs and converts values alike on both."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.incidents.conftest import Replay
from tests.incidents.test_demo import DEMO


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        pytest.skip("PostgreSQL is not installed here (.ci/run installs Debian's postgresql)")
    binaries = found[-1].parent
    root = Path(tempfile.mkdtemp(prefix="pg"))  # short: the socket's path has a length limit
    # the server refuses to run as root
    as_user = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(root, "nobody")
    data = root / "data"
    subprocess.run([*as_user, binaries / "initdb", "-D", data, "-U", "postgres", "-A", "trust",
                    "-E", "UTF8"], check=True, capture_output=True)
    subprocess.run([*as_user, binaries / "pg_ctl", "-D", data, "-l", root / "log", "-w", "-o",
                    f"-k {root} -c listen_addresses=''", "start"], check=True,
                   capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@/postgres?host={root}"
    finally:
        # check=False: a server that has already stopped needs no stopping
        subprocess.run([*as_user, binaries / "pg_ctl", "-D", data, "-m", "immediate", "stop"],
                       check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


async def test_the_demo_gives_the_same_timeline_on_postgresql(run_replay: Replay,
                                                               postgres_url: str) -> None:
    lines = (DEMO / "scenario.jsonl").read_text(encoding="utf-8").splitlines()
    on_sqlite = await run_replay(json.loads(line) for line in lines)
    on_postgres = await run_replay((json.loads(line) for line in lines), url=postgres_url)
    assert {e["type"] for e in on_postgres} >= {"opened", "item_added", "level_proposed"}
    assert on_postgres == on_sqlite
