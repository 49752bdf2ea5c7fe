"""Segmentation: rjieba against jieba, and the jurisdiction profile in the dictionary."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jieba
import pytest

from monitor.analyze.analyzer import make_segmenter
from monitor.analyze.lexicon import PROJECT_DIR, load_profile
from monitor.analyze.tokens import Segmenter, is_feature

CORPUS = PROJECT_DIR / "models" / "corpus"
# rjieba and jieba split runs of Latin letters, digits and symbols differently; on Chinese
# they must agree, so the comparison is over runs of Han characters.
HAN_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")


def han_runs(limit: int) -> list[str]:
    runs: list[str] = []
    for path in sorted(CORPUS.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            runs += HAN_RUN.findall(json.loads(line)["text"])
            if len(runs) >= limit:
                return runs
    return runs


def test_rjieba_agrees_with_jieba_on_chinese() -> None:
    jieba.setLogLevel(60)
    segmenter = Segmenter()
    runs = han_runs(3000)
    assert len(runs) >= 3000
    differ = [r for r in runs if segmenter.words(r) != jieba.lcut(r)]
    assert differ == []


def test_profile_names_stay_whole(tmp_path: Path) -> None:
    segmenter = make_segmenter(load_profile(PROJECT_DIR / "profile.yaml"))
    words = segmenter.words("昨天在双江县人民医院和勐库镇卫生院排队挂号")
    assert "双江县人民医院" in words
    assert "勐库镇卫生院" in words


def test_another_city_profile_replaces_the_default(tmp_path: Path) -> None:
    path = tmp_path / "profile.yaml"
    path.write_text("name: 示例市\nunits:\n  - {name: 示例市第九人民医院, kind: hospital, "
                    "aliases: [九院]}\nregions:\n  - name: 东江区\n    towns: [北岸街道]\n",
                    encoding="utf-8")
    profile = load_profile(path)
    assert "示例市第九人民医院" in make_segmenter(profile).words("示例市第九人民医院急诊排长队")
    assert {"示例市", "东江区", "北岸街道", "九院"} <= set(profile.words())
    assert "临沧市" not in profile.words()


@pytest.mark.parametrize(("token", "expected"), [
    ("小时", True), ("病", True), ("120", True), ("icu", True),
    ("了", False),  # stop word
    ("，", False), (" ", False), ("3", False), ("a", False),
])
def test_which_tokens_become_features(token: str, expected: bool) -> None:
    assert is_feature(token, frozenset({"了"})) is expected
