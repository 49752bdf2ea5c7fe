"""The command line as users run it: a real process against a real local feed server."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import aiohttp

from tests.conftest import FeedHost
from tests.service import free_port, service


async def monitor(*args: str, env: dict[str, str] | None = None,
                  cwd: Path | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", *args, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env={**os.environ, **(env or {})}, cwd=cwd)
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def sources_file(tmp_path: Path, feed_host: FeedHost) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(f"""\
sources:
  - name: lincang-wjw     # 临沧市卫健委
    url: {feed_host.serve_file("/wjw.xml", "gbk_labelled_gb2312.xml")}
    media: government
    region: 临沧
  - name: forum
    url: {feed_host.serve_file("/forum.xml", "malformed.xml")}
    media: forum
    region: 临沧
  - name: broken
    url: {feed_host.url("/missing.xml")}
    media: local
    region: 临沧
  - name: paused
    url: {feed_host.url("/off.xml")}
    media: local
    region: 临沧
    enabled: false
""", encoding="utf-8")
    return path


ENV = {"MONITOR_ALLOW_PRIVATE": "localhost"}


def no_gap_config(tmp_path: Path) -> str:
    """One local host serves every test feed: drop the 5 s politeness gap between requests."""
    config = tmp_path / "monitor.yaml"
    config.write_text("fetch:\n  host_gap: 0\n", encoding="utf-8")
    return str(config)


async def test_fetch_once_prints_a_table_and_items_exports_jsonl(
        tmp_path: Path, feed_host: FeedHost) -> None:
    sources = sources_file(tmp_path, feed_host)
    db = f"sqlite:///{tmp_path / 'm.db'}"
    config = no_gap_config(tmp_path)
    code, out, err = await monitor("fetch", "--once", "--config", config,
                                   "--sources", str(sources), "--db", db, env=ENV)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["source", "status", "http", "new", "reposts", "time", "error"]
    assert lines[1].split()[:5] == ["lincang-wjw", "ok", "200", "2", "0"]
    assert "warning: malformed feed" in lines[2]
    assert "HTTP 404 Not Found" in lines[3]
    assert lines[-1] == "3 sources, 4 new items, 1 failed"
    assert "/off.xml" not in feed_host.hits

    code, out, _ = await monitor("items", "--jsonl", "--source", "lincang-wjw", "--db", db)
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["title"] for r in rows] == ["凤庆县医院张喆医生获表彰", "镇康县开展疫苗接种宣传"]
    assert rows[0]["published_at"] == "2026-03-03T00:00:00+00:00"

    code, out, _ = await monitor("fetch", "--once", "--json", "--config", config,
                                 "--sources", str(sources), "--db", db, env=ENV)
    report = {r["source"]: r for r in json.loads(out)}
    assert report["lincang-wjw"]["status"] == "not_modified"
    assert report["broken"]["http_status"] == 404


async def test_bad_sources_file_exits_2_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - name: a\n    url: https://a.example/\n    media: tv\n"
                    "    region: x\n", encoding="utf-8")
    code, out, err = await monitor("fetch", "--once", "--sources", str(path),
                                   "--db", f"sqlite:///{tmp_path / 'm.db'}")
    assert code == 2
    assert out == ""
    assert f"error: {path}:4: source 'a': media: Input should be 'central'" in err


async def test_items_rejects_a_bad_since(tmp_path: Path) -> None:
    code, _, err = await monitor("items", "--since", "yesterday",
                                 "--db", f"sqlite:///{tmp_path / 'm.db'}")
    assert code == 2
    assert "is not an ISO 8601 time" in err


async def test_run_serves_health_and_stops_cleanly_on_sigterm(
        tmp_path: Path, feed_host: FeedHost) -> None:
    sources = sources_file(tmp_path, feed_host)
    config = no_gap_config(tmp_path)
    port = free_port()
    db = tmp_path / "m.db"
    health: dict[str, Any] = {}
    async with service("run", "--config", config, "--sources", str(sources),
                       "--db", f"sqlite:///{db}", "--port", str(port), env=ENV,
                       stop_within=20) as run, aiohttp.ClientSession() as session:
        async def all_polled_and_analysed() -> bool:
            nonlocal health
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    health = await resp.json()
            except aiohttp.ClientConnectionError:
                return False  # startup loads the model first
            return health.get("polled") == 3 and health["analysis_backlog"] == 0

        await run.wait_for(all_polled_and_analysed, 60, "poll of all three sources")
        assert health["status"] == "ok"
        assert health["sources"] == 3
        assert [f["source"] for f in health["failing"]] == ["broken"]
    assert run.proc.returncode == 0, run.stderr
    assert "stopped cleanly" in run.stderr
    _code, out, _ = await monitor("items", "--jsonl", "--db", f"sqlite:///{db}")
    assert len(out.splitlines()) == 4
    # analysed as they arrived: every item carries its signal
    signals = [json.loads(line)["signal"] for line in out.splitlines()]
    assert all(s is not None and isinstance(s["health"], bool) for s in signals)
