"""The shipped model: it loads, it matches its card and corpus, it judges unseen text."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from monitor.analyze.analyzer import Analyzer, load_analyzer
from monitor.analyze.lexicon import PROJECT_DIR, load_taxonomy
from monitor.analyze.model import CARD_FILE, MODEL_FILE, ModelError, load_model
from monitor.analyze.train import read_corpus

MODELS = PROJECT_DIR / "models"
UNSEEN = Path(__file__).parents[1] / "data" / "unseen_sentences.jsonl"
TOPICS = [t.key for t in load_taxonomy()]


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return load_analyzer(PROJECT_DIR / "profile.yaml", PROJECT_DIR / "plans.yaml", MODELS)


def unseen() -> list[dict[str, object]]:
    return [json.loads(line) for line in UNSEEN.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("case", unseen(), ids=lambda c: str(c["text"])[:16])
def test_unseen_sentence(analyzer: Analyzer, case: dict[str, object]) -> None:
    """Sentences written for this test, never trained on."""
    signal = analyzer.analyze([("", str(case["text"]))])[0]
    assert signal.health == bool(case["health"]), signal
    topics = case["topics"]
    assert isinstance(topics, list)
    if topics:
        assert topics[0] in [t.key for t in signal.topics], signal
    if not case["health"]:
        assert signal.topics == ()


def test_shipped_model_was_trained_on_the_shipped_corpus() -> None:
    card = json.loads((MODELS / CARD_FILE).read_text(encoding="utf-8"))
    corpus = read_corpus(MODELS / "corpus", TOPICS)
    assert card["corpus_sha256"] == corpus.sha256, "corpus changed: run `monitor train`"
    assert card["examples"] == len(corpus.examples) >= 4000
    assert card["metrics"]["health"]["precision"] > 0.9
    assert card["metrics"]["health"]["recall"] > 0.9


@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    for name in (MODEL_FILE, CARD_FILE):
        shutil.copy(MODELS / name, tmp_path / name)
    return tmp_path


def test_a_copy_loads(model_copy: Path) -> None:
    assert load_model(model_copy, TOPICS).outputs == ("health", *TOPICS, "negative")


def test_tampered_model_is_refused(model_copy: Path) -> None:
    data = bytearray((model_copy / MODEL_FILE).read_bytes())
    data[len(data) // 2] ^= 0x01
    (model_copy / MODEL_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match its card.*refused.*monitor train"):
        load_model(model_copy, TOPICS)


def test_model_from_elsewhere_with_a_forged_card_entry_is_refused(model_copy: Path) -> None:
    card = json.loads((model_copy / CARD_FILE).read_text(encoding="utf-8"))
    card["model_sha256"] = "0" * 64
    (model_copy / CARD_FILE).write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(ModelError, match="does not match its card"):
        load_model(model_copy, TOPICS)


def test_model_for_another_taxonomy_is_refused(model_copy: Path) -> None:
    with pytest.raises(ModelError, match="trained for outputs"):
        load_model(model_copy, [*TOPICS, "dentistry"])


def test_missing_model_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found; run `monitor train`"):
        load_model(tmp_path, TOPICS)


def test_signal_reports_topics_plans_and_places(analyzer: Analyzer) -> None:
    signal = analyzer.analyze([("凤庆县人民医院护士遭患者家属殴打",
                                "网友曝光：凤庆县人民医院急诊科一名护士被打伤，医院推诿不作为。")])[0]
    assert signal.health
    assert signal.health_score > 0.9
    assert "medical_dispute" in [t.key for t in signal.topics]
    assert signal.negative > 0.5
    assert {"涉医暴力", "临沧医疗机构投诉"} <= {p.name for p in signal.plans}
    assert signal.places == ("凤庆县人民医院",)
    assert signal.model == load_model(MODELS, TOPICS).ident


@pytest.mark.parametrize(("text", "places"), [
    ("昨晚送到市人民医院抢救", ("临沧市人民医院",)),
    ("市人民医院今日起开通夜间门诊", ("临沧市人民医院",)),
    ("山西孝义市人民医院急需O型血", ()),  # another city's hospital of the same name
    ("孝义市应急管理局通报：焦化厂爆炸致2人死亡", ()),
])
def test_a_generic_alias_is_ours_only_where_no_other_city_precedes_it(
        analyzer: Analyzer, text: str, places: tuple[str, ...]) -> None:
    assert analyzer.analyze([("", text)])[0].places == places
