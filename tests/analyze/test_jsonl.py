"""Classifying JSON Lines in two processes: input order kept, every line answered, and the
work carried on alone when the second process dies."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
from collections.abc import Iterator

import pytest

from monitor.analyze.analyzer import Analyzer, load_analyzer
from monitor.analyze.jsonl import CHUNK, SECOND_PROCESS_AFTER, ModelPaths, classify_lines
from monitor.analyze.lexicon import MODELS_DIR, PROJECT_DIR

PATHS = ModelPaths(PROJECT_DIR / "profile.yaml", PROJECT_DIR / "plans.yaml", MODELS_DIR)
TEXTS = ["临沧一养老院被指虐待老人，家属称老人身上多处淤青", "央行宣布降准0.5个百分点",
         "沧源县一煤矿发生透水事故，3人遇难", "孩子在县医院输液后出现过敏反应，医院拒绝承担责任",
         "今晚国足客场挑战日本队", "疫苗接种点周末延长服务时间"]


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return load_analyzer(PATHS.profile, PATHS.plans, PATHS.models_dir)


def lines(count: int) -> list[str]:
    out = []
    for n in range(count):
        if n % 997 == 5:
            out.append("not json")
        else:
            # a number in each text, so that neighbouring lines differ
            out.append(json.dumps({"id": n, "text": f"{TEXTS[n % len(TEXTS)]}（{n}）"},
                                  ensure_ascii=False))
    return out


def run(analyzer: Analyzer, source: Iterator[str] | list[str],
        paths: ModelPaths | None) -> tuple[list[dict[str, object]], list[str], int, int]:
    written: list[str] = []
    warned: list[str] = []
    summary = classify_lines(analyzer, source, written.append, warned.append, paths)
    results = [json.loads(line) for text in written for line in text.splitlines()]
    return results, warned, summary.unreadable, summary.by_helper


# long enough for the second process to load its models and take part on a slow machine
GIVEN = lines(SECOND_PROCESS_AFTER + 40 * CHUNK)


@pytest.fixture(scope="module")
def alone(analyzer: Analyzer) -> list[dict[str, object]]:
    results, _, _, helped = run(analyzer, GIVEN, None)
    assert helped == 0
    return results


def test_a_long_input_is_shared_and_comes_back_in_order(
        analyzer: Analyzer, alone: list[dict[str, object]]) -> None:
    given = GIVEN
    shared, warned, unreadable, helped = run(analyzer, given, PATHS)
    assert helped > 0  # the second process did part of the work...
    assert shared == alone  # ...and gave what this one gives, in input order
    bad = [n for n, line in enumerate(given, 1) if line == "not json"]
    assert unreadable == len(bad) == len(warned)
    assert [int(w.split()[3].rstrip(":")) for w in warned] == bad
    assert [r["id"] for r in shared] == [n for n in range(len(given)) if n + 1 not in bad]


def test_a_killed_helper_loses_no_line(analyzer: Analyzer, alone: list[dict[str, object]],
                                       caplog: pytest.LogCaptureFixture) -> None:
    killed = []

    def feed() -> Iterator[str]:
        for n, line in enumerate(GIVEN):
            if n == len(GIVEN) - 10 * CHUNK:
                for child in multiprocessing.active_children():
                    os.kill(child.pid or 0, signal.SIGKILL)
                    killed.append(child.pid)
            yield line

    with caplog.at_level(logging.WARNING, logger="monitor.analyze.jsonl"):
        results, _, _, helped = run(analyzer, feed(), PATHS)
    assert killed
    assert helped > 0  # it had worked before it was killed
    assert "second classifying process stopped" in caplog.text
    assert results == alone
