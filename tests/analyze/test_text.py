"""Normalisation: what the classifier and the plans both see."""

from __future__ import annotations

import pytest

from monitor.analyze.text import normalize, plain_text


@pytest.mark.parametrize(("raw", "expected"), [
    ("ＰＭ２．５超标！", "pm2.5超标!"),  # full width → half width, case folded
    ("臨滄市醫院掛號難", "临沧市医院挂号难"),  # traditional → simplified
    ("頭髮 乾淨", "头发 干净"),  # phrase-aware, not character by character
    ("看这里 https://t.cn/A6abc123 和 www.example.com/x?y=1 结束", "看这里 和 结束"),
    ("@临沧市卫健委 @张三_99 请回复", "请回复"),
    ("排了三个小时😡😡🙏🏻 太难了👍", "排了三个小时 太难了"),
    ("太过分了[怒] 展开全文 网页链接", "太过分了"),
    ("  多个\n\t空白  ", "多个 空白"),
    ("", ""),
])
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_simplified_text_is_left_alone() -> None:
    text = "临沧市人民医院发布通知：门诊时间调整"
    assert normalize(text) == text.replace("：", ":")


def test_plain_text_of_sanitised_html() -> None:
    assert plain_text("<p>医院&amp;诊所</p><br>门诊") == " 医院&诊所  门诊"
    assert plain_text("没有标签") == "没有标签"
