"""Tone and risk cues: lexicon words, emoji and emoticons; phrases that cancel a cue; risk as a
product over the categories touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.analyze.analyzer import Analyzer, load_analyzer
from monitor.analyze.cues import cue_token, load_risk, load_tone, tone_name
from monitor.analyze.lexicon import PROJECT_DIR, RISK_PATH, TONE_PATH
from monitor.analyze.text import normalize
from monitor.errors import ConfigError

TONE = load_tone(TONE_PATH)
RISK = load_risk(RISK_PATH, ["凤庆县人民医院"])


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return load_analyzer(PROJECT_DIR / "profile.yaml", PROJECT_DIR / "plans.yaml")


def cues(raw: str) -> list[str]:
    return [tone_name(c) or c for c in TONE.cues(raw, normalize(raw))]


@pytest.mark.parametrize(("raw", "expected"), [
    ("太过分了！医院到现在不给说法", ["愤怒"]),
    ("求扩散！！", ["求扩散"]),
    ("孩子一直发烧，好担心", ["恐惧"]),
    ("谢谢张医生😊", ["正面", "正面"]),
    ("排了三个小时😡[怒]", ["愤怒", "愤怒"]),
    ("[泪][泪] 外婆走了", ["悲伤", "悲伤"]),
    ("[没有这个表情] 今天天气不错", []),
])
def test_tone_cues(raw: str, expected: list[str]) -> None:
    assert sorted(cues(raw)) == sorted(expected)


def test_a_negated_phrase_cancels_the_cue_inside_it() -> None:
    assert cues("疾控专家：不用担心，按时接种即可") == []
    assert cues("我很担心") == ["恐惧"]


def test_cue_tokens_never_look_like_words() -> None:
    assert cue_token("anger") == "〔anger〕"
    assert tone_name("〔grief〕") == "悲伤"
    assert tone_name("悲伤") is None


def test_risk_rises_with_each_category_and_names_them() -> None:
    calm, calm_terms = RISK.assess(normalize("市图书馆周末开放时间调整"), ())
    assert (calm, calm_terms) == (0.0, ())
    one, terms = RISK.assess(normalize("全市新增本土确诊病例3例"), ())
    assert terms == ("疫情与传染病",)
    assert one == pytest.approx(0.45)
    many, terms = RISK.assess(normalize("小学生午餐后集体腹泻，一名学生抢救无效死亡"), ())
    assert terms[0] == "死亡"
    assert {"中毒", "儿童与学生"} <= set(terms)
    assert many > 0.8


def test_no_casualties_is_not_a_casualty() -> None:
    with_casualties, _ = RISK.assess(normalize("厂房起火，造成2人受伤"), ())
    without, terms = RISK.assess(normalize("厂房起火，未造成人员伤亡"), ())
    assert "伤亡" not in terms
    assert without < with_casualties


def test_a_place_or_a_child_raises_a_harm_but_is_none_alone() -> None:
    calm = RISK.assess(normalize("凤庆县人民医院儿科新大楼今日启用"), ("凤庆县人民医院",))
    assert calm == (0.0, ())
    harm, _ = RISK.assess(normalize("凤庆一男子输液后死亡"), ())
    local, terms = RISK.assess(normalize("凤庆县人民医院一患儿输液后死亡"), ("凤庆县人民医院",))
    assert {"死亡", "本地医疗卫生单位", "儿童与学生"} <= set(terms)
    assert local > harm


def test_a_bad_lexicon_names_its_file(tmp_path: Path) -> None:
    bad = tmp_path / "risk.yaml"
    bad.write_text("categories:\n  - {key: death, name: 死亡, weight: 1.5, words: [死亡]}\n"
                   "local_units: {name: 本地, weight: 0.2}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="risk.yaml"):
        load_risk(bad, [])


def test_signals_carry_risk_and_what_drove_negativity(analyzer: Analyzer) -> None:
    dispute, notice = analyzer.analyze([
        ("", "求扩散！！我爸在凤庆县人民医院做完手术人就没了，医院到现在不给说法，太过分了😡"),
        ("", "临沧市卫生健康委员会通报：全市新增本土确诊病例3例，均已转运至定点医院"),
    ])
    assert dispute.negative >= 0.5
    assert dispute.tone_terms
    assert "本地医疗卫生单位" in dispute.risk_terms
    assert notice.negative < 0.5
    assert notice.tone_terms == ()
    assert notice.risk >= 0.4
    assert "疫情与传染病" in notice.risk_terms
