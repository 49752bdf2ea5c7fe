"""Watch plans: expressions, simple word lists, and the errors an editor of plans.yaml sees."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.analyze.plans import (
    PlanModel,
    PlanSet,
    PlanSyntaxError,
    compile_plan,
    load_plans,
    parse_expression,
)
from monitor.analyze.text import normalize
from monitor.errors import ConfigError


def matches(expression: str, text: str, title: str = "") -> tuple[str, ...] | None:
    """The matched words if the plan hits, else None."""
    plan = compile_plan(PlanModel(name="p", expression=expression))
    hits = PlanSet([plan]).match(normalize(title), normalize(text))
    return hits[0].matched if hits else None


def test_and_binds_tighter_than_or() -> None:
    # A OR B AND C  ==  A OR (B AND C)
    assert matches("疫苗 OR 医院 AND 投诉", "疫苗到货") == ("疫苗",)
    assert matches("疫苗 OR 医院 AND 投诉", "医院开业") is None
    assert matches("疫苗 OR 医院 AND 投诉", "投诉医院") == ("医院", "投诉")
    assert matches("(疫苗 OR 医院) AND 投诉", "疫苗到货") is None


def test_not_binds_tightest_and_excludes() -> None:
    assert matches("医院 NOT 演练", "医院举行消防演练") is None
    assert matches("医院 NOT 演练", "医院发生火灾") == ("医院",)
    assert matches("医院 AND NOT (演练 OR 电视剧)", "电视剧里的医院") is None
    assert matches("-演练 医院", "医院火灾") == ("医院",)


def test_space_and_symbols_are_operators() -> None:
    assert matches("医院 投诉", "医院被投诉") == ("医院", "投诉")
    assert matches("医院 投诉", "医院开业") is None
    assert matches("医院+投诉|疫苗", "疫苗") == ("疫苗",)
    assert matches("医院&!演练", "医院演练") is None


def test_chinese_keyboard_operators() -> None:
    assert matches("（医院｜卫生院）＋投诉 ！演练", "卫生院被投诉") == ("卫生院", "投诉")
    assert matches("（医院｜卫生院）＋投诉 ！演练", "卫生院投诉处理演练") is None


def test_phrases_keep_spaces_and_operators() -> None:
    assert matches('"打 人"', "有人打 人") == ("打 人",)
    assert matches('"打 人"', "打人") is None
    assert matches("“A+B”", "a+b套餐") == ("a+b",)


def test_words_are_normalised_like_the_text() -> None:
    assert matches("医院", "臨滄市醫院") == ("医院",)
    assert matches("ICU", "转入ｉｃｕ病房") == ("icu",)


def test_latin_words_match_whole_words_only() -> None:
    assert matches("icu", "icup 是一个缩写") is None
    assert matches("icu", "icu床位紧张") == ("icu",)


def test_title_scope_ignores_the_body() -> None:
    plan = compile_plan(PlanModel.model_validate({"name": "t", "expression": "投诉",
                                                   "in": "title"}))
    plans = PlanSet([plan])
    assert plans.match(normalize("医院开业"), normalize("医院开业 有人投诉")) == []
    assert plans.match(normalize("投诉医院"), normalize("")) != []


def test_simple_plan_needs_one_word_of_each_list_and_no_exclusion() -> None:
    model = PlanModel(name="s", subject=["医院", "卫生院"], region=["临沧", "凤庆"],
                      event=["投诉", "纠纷"], exclude=["演练"])
    plans = PlanSet([compile_plan(model)])
    hit = plans.match("", normalize("凤庆县某卫生院发生医疗纠纷"))
    assert [(h.name, h.matched) for h in hit] == [("s", ("卫生院", "凤庆", "纠纷"))]
    assert plans.match("", normalize("凤庆县某卫生院开展纠纷调解演练")) == []
    assert plans.match("", normalize("昆明某医院发生纠纷")) == []  # no region word


@pytest.mark.parametrize(("expression", "position", "message"), [
    ("(医院 OR 投诉", 0, "never closed"),
    ("医院 OR", 5, "ends where a word"),
    ("医院 )", 3, "without its '('"),
    ('"打人', 0, "quote"),
    ("医院 AND AND 投诉", 7, "found 'AND'"),
    ("", 0, "empty"),
])
def test_syntax_errors_carry_the_position(expression: str, position: int, message: str) -> None:
    with pytest.raises(PlanSyntaxError) as caught:
        parse_expression(expression)
    assert caught.value.position == position
    assert message in caught.value.message


def test_a_plan_of_only_exclusions_is_refused() -> None:
    with pytest.raises(PlanSyntaxError, match="every word is under NOT"):
        compile_plan(PlanModel(name="n", expression="NOT 广告"))


def test_plans_file_error_names_plan_line_and_position(tmp_path: Path) -> None:
    path = tmp_path / "plans.yaml"
    path.write_text("plans:\n  - name: 好的\n    expression: 医院\n"
                    "  - name: 坏的\n    expression: '(医院 OR 卫生院 AND 投诉'\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_plans(path)
    text = str(caught.value)
    assert f"{path}:5: plan '坏的':" in text
    assert "'(' is never closed at position 1 of the expression" in text
    assert "^" in text


def test_plans_file_refuses_mixed_forms_and_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "plans.yaml"
    path.write_text("plans:\n  - name: x\n    expression: a\n    subject: [b]\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="plan 'x'.*either `expression` or the word lists"):
        load_plans(path)
    path.write_text("plans:\n  - name: x\n    subjects: [b]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown key 'subjects'; did you mean 'subject'"):
        load_plans(path)


def test_numbers_in_word_lists_are_words_and_disabled_plans_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "plans.yaml"
    path.write_text("plans:\n  - name: 急救\n    subject: [120, 急救]\n"
                    "  - name: 停用\n    subject: [急救]\n    enabled: false\n",
                    encoding="utf-8")
    plans = load_plans(path)
    assert [(h.name, h.matched) for h in plans.match("", "拨打120无人接听")] == [("急救", ("120",))]


def test_shipped_plans_load() -> None:
    plans = load_plans(Path(__file__).parents[2] / "plans.yaml")
    assert len(plans.plans) >= 5
    hits = plans.match("", normalize("沧源县一煤矿发生透水事故，3人遇难"))
    assert "临沧安全生产伤亡" in [h.name for h in hits]
