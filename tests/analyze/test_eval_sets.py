"""The frozen evaluation sets stay apart from the training corpus: no text of theirs, nor a near
copy of one, may enter it, or their figures would measure memory instead of reading."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from monitor.analyze.lexicon import PROJECT_DIR
from monitor.analyze.text import normalize

CORPUS = PROJECT_DIR / "models" / "corpus"
SETS = [*sorted((PROJECT_DIR / "bench" / "data").glob("unseen_eval_*.jsonl")),
        PROJECT_DIR / "models" / "eval" / "heldout.jsonl"]
GRAM = 6  # characters: a shared run of six is rare between texts written apart


def texts(path: Path) -> list[str]:
    return [normalize(json.loads(line)["text"])
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def grams(text: str) -> set[str]:
    return {text[i:i + GRAM] for i in range(len(text) - GRAM + 1)}


@pytest.fixture(scope="module")
def corpus_index() -> tuple[set[str], dict[str, list[int]]]:
    whole: set[str] = set()
    index: dict[str, list[int]] = {}
    for n, text in enumerate(t for path in sorted(CORPUS.glob("*.jsonl")) for t in texts(path)):
        whole.add(text)
        for gram in grams(text):
            index.setdefault(gram, []).append(n)
    return whole, index


def test_there_are_frozen_sets_with_risk_labels() -> None:
    assert len(SETS) == 3
    for path in SETS[:2]:
        records = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x]
        assert len(records) >= 500
        assert {r["risk"] for r in records} == {0, 1}


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_no_evaluation_text_or_near_copy_is_in_the_corpus(
        path: Path, corpus_index: tuple[set[str], dict[str, list[int]]]) -> None:
    whole, index = corpus_index
    copies = []
    for text in texts(path):
        own = grams(text)
        if text in whole:
            copies.append(text)
            continue
        if len(own) < 4:
            continue
        shared = Counter(n for gram in own for n in set(index.get(gram, ())))
        if shared and shared.most_common(1)[0][1] >= 0.6 * len(own):
            copies.append(text)
    assert copies == []
