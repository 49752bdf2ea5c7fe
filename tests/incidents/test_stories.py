"""The story index: copies join the story of their original within the window, and memory
follows the window, not the stream."""

from __future__ import annotations

from datetime import timedelta

from monitor.incidents.stories import StoryIndex, sketch
from tests.incidents.conftest import START

ORIGINAL = "凤庆县人民医院一产妇分娩后死亡，家属质疑医院抢救不及时，县卫健委已介入调查"
COPY = "转发：凤庆县人民医院一产妇分娩后死亡，家属质疑医院抢救不及时，县卫健委已介入调查｜网易"
OTHER = "临沧市疾控中心提醒：秋冬季流感高发，老人儿童请尽早接种流感疫苗"


def test_a_copy_joins_its_original_and_another_text_does_not() -> None:
    index = StoryIndex(containment=0.6, candidates=0.2, window_s=3600)
    assert index.add(1, sketch(ORIGINAL), START) == 1
    assert index.add(2, sketch(OTHER), START) == 2
    assert index.add(3, sketch(COPY), START + timedelta(minutes=5)) == 1
    assert index.add(4, sketch(COPY), START + timedelta(minutes=6)) == 1  # a copy of a copy


def test_forgotten_texts_free_their_place() -> None:
    index = StoryIndex(containment=0.6, candidates=0.2, window_s=600)
    for n in range(1, 301):  # one text a minute for five hours; each lives ten minutes
        text = ORIGINAL if n % 2 else f"{OTHER}（第{n}期）"
        index.add(n, sketch(text), START + timedelta(minutes=n))
        assert len(index) <= 11
    # the original's last copy was forgotten long ago: a copy now starts a story of its own
    assert index.add(1000, sketch(COPY), START + timedelta(hours=8)) == 1000
    assert index.add(1001, sketch(ORIGINAL), START + timedelta(hours=8, minutes=1)) == 1000
