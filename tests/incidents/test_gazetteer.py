"""Places elsewhere in China: names and short forms, one term for both, and a short form only
where it is a word of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.analyze.text import normalize
from monitor.errors import ConfigError
from monitor.incidents.gazetteer import load_gazetteer

GAZETTEER = load_gazetteer(skip=["临沧市", "临沧", "耿马傣族佤族自治县", "耿马"])


def test_a_name_and_its_short_form_are_one_place() -> None:
    assert GAZETTEER.find(normalize("吕梁孝义市梧桐镇一焦化企业发生爆炸")) == {
        "吕梁": "prefecture", "孝义": "county"}
    assert GAZETTEER.find(normalize("孝义那边一声巨响")) == {"孝义": "county"}
    assert GAZETTEER.find(normalize("西双版纳傣族自治州人民医院")) == {"西双版纳": "prefecture"}


def test_a_short_form_inside_other_words_is_no_place() -> None:
    text = normalize("伤员身上全是黑的，希望都平安")
    assert "望都" in GAZETTEER.find(text)  # without the words, the letters match...
    assert GAZETTEER.find(text, ["伤员", "身上", "全是", "黑", "的", "希望", "都", "平安"]) == {}


def test_districts_have_no_short_form_and_the_profile_keeps_its_own() -> None:
    assert GAZETTEER.find(normalize("和平区")) == {"和平区": "county"}
    assert GAZETTEER.find(normalize("世界和平")) == {}
    assert GAZETTEER.find(normalize("临沧市耿马县")) == {}
    assert GAZETTEER.levels["孝义"] == "county"


def test_a_damaged_file_names_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "places.tsv"
    bad.write_text("孝义市\t孝义\tcounty\n吕梁市\t吕梁\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"places.tsv:2: expected name"):
        load_gazetteer(bad)
