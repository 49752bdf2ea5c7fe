"""Training: deterministic, exported arrays equal to the pipeline, feedback folded in."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.analyze.lexicon import PROJECT_DIR
from monitor.collect.decode import content_hash
from monitor.collect.normalize import normalize_title, normalize_url
from monitor.records import Item
from monitor.store import Store
from monitor.store.items import insert_new
from tests.test_cli import monitor

CORPUS = PROJECT_DIR / "models" / "corpus"


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    """Every eighth line of the real corpus: enough for every label, quick to train."""
    directory = tmp_path / "corpus"
    directory.mkdir()
    lines = [line for path in sorted(CORPUS.glob("*.jsonl"))
             for line in path.read_text(encoding="utf-8").splitlines()]
    (directory / "part.jsonl").write_text("\n".join(lines[::8]) + "\n", encoding="utf-8")
    return directory


async def test_training_twice_gives_the_same_bytes(small_corpus: Path, tmp_path: Path) -> None:
    cards = []
    for run in ("a", "b"):
        code, out, err = await monitor("train", "--corpus", str(small_corpus), "--out",
                                       str(tmp_path / run), "--folds", "2", "--json")
        assert code == 0, err
        cards.append(json.loads(out))
        assert "cross-validation fold 2/2" in err
    assert cards[0]["model_sha256"] == cards[1]["model_sha256"]
    assert (tmp_path / "a" / "classifier.npz").read_bytes() == \
        (tmp_path / "b" / "classifier.npz").read_bytes()
    metrics = cards[0]["metrics"]
    assert set(metrics) >= {"health", "negative", "access_to_care", "method"}
    assert 0.0 <= metrics["health"]["f1"] <= 1.0
    assert 0.5 < metrics["negative"]["auc"] <= 1.0
    # each style with enough texts is also scored trained without it
    styles = cards[0]["leave_one_style_out"]
    assert {"weibo", "headline"} <= set(styles)
    for figures in styles.values():
        assert figures["examples"] >= 50
        assert 0.0 <= figures["health"]["held_out"]["f1"] <= 1.0
        assert figures["negative"]["in_style"]["auc"] is not None
    assert "leave-one-style-out 1/" in err


async def test_bad_corpus_line_names_file_and_line(small_corpus: Path, tmp_path: Path) -> None:
    with (small_corpus / "part.jsonl").open("a", encoding="utf-8") as f:
        f.write('{"text": "x", "health": 1, "topics": ["dentistry"], "negative": 0}\n')
    code, _, err = await monitor("train", "--corpus", str(small_corpus), "--out", str(tmp_path))
    assert code == 2
    assert "part.jsonl:" in err
    assert "unknown topic(s) ['dentistry']" in err


async def test_labels_are_folded_in_with_feedback(small_corpus: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    store = Store(db)
    url = "https://bbs.example.cn/t/1"
    title = "小区门口新开了一家奶茶店，排队的人很多"
    item = Item(source="forum", ident="u:1", guid=None, url=url, url_norm=normalize_url(url),
                title=title, title_norm=normalize_title(title), summary="<p>味道一般</p>",
                published_at=None, fetched_at=datetime(2026, 3, 6, tzinfo=UTC),
                content_hash=content_hash(title, url, ""))
    stored = store.transaction(lambda c: insert_new(c, "forum", [item], item.fetched_at))
    store.close()
    item_id = str(stored.new[0].id)

    code, _, err = await monitor("label", item_id, "--relevant", "--topic", "牙科", "--db", db)
    assert code == 2
    assert "unknown topic 牙科" in err
    code, _, err = await monitor("label", "999", "--irrelevant", "--db", db)
    assert code == 2
    assert "no item #999" in err
    code, out, err = await monitor("label", item_id, "--irrelevant", "--not-negative",
                                   "--by", "值班员甲", "--db", db)
    assert code == 0, err
    assert f"labelled item #{item_id}: irrelevant" in out

    code, out, err = await monitor("train", "--corpus", str(small_corpus), "--out",
                                   str(tmp_path / "m"), "--folds", "2", "--with-feedback",
                                   "--db", db, "--json")
    assert code == 0, err
    card = json.loads(out)
    assert card["feedback_examples"] == 1
    plain = json.loads((await monitor("train", "--corpus", str(small_corpus), "--out",
                                      str(tmp_path / "p"), "--folds", "2", "--json"))[1])
    assert card["corpus_sha256"] != plain["corpus_sha256"]
