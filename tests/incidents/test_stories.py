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


def test_a_text_that_says_it_is_a_repost_needs_less_of_it_to_match() -> None:
    # the repost quotes half of the original (52 % of its bigrams) behind the reposter's own
    # words: too little for a plain text, enough for one marked as a repost
    words = "我们这边也听说了，家属已经在医院门口等了一整天，到现在还没有人出来给个说法"
    marked = f"转发：{ORIGINAL[:19]}……{words}"
    plain = f"{ORIGINAL[:19]}……{words}"
    assert sketch(marked).repost
    assert not sketch(plain).repost
    for text, joins in ((marked, True), (plain, False)):
        index = StoryIndex(containment=0.6, candidates=0.2, window_s=3600,
                           repost_containment=0.45)
        index.add(1, sketch(ORIGINAL), START)
        assert (index.add(2, sketch(text), START + timedelta(minutes=5)) == 1) is joins
