"""Hot words of a set of titles: how many titles hold each telling word, cut and tagged by the
analysis's own jieba (with the profile's dictionary, so that 双江县人民医院 is one word). Left
out: what every title says (stop words, generic news words), what the tagger calls times,
numbers, pronouns or particles, and names of places, which the county chart tells already."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

from monitor.analyze.text import normalize
from monitor.analyze.tokens import Segmenter, is_feature
from monitor.incidents.gazetteer import PLACES_CN_PATH

WORDS_KEPT = 400  # a day keeps its most frequent words; a period's top 100 come from these
TELLING_KEPT = 500_000  # words judged telling or not, remembered (a few tens of MB at most)
# Parts of speech a hot word may be: nouns, verbs (死亡, 坍塌, 投诉), adjectives, idioms and
# abbreviations, English (eng), and the health words and names added to the dictionary (tagged "");
# not times (今年, 晚上), places of direction (最近), numbers and measures (几个, 多久),
# pronouns (每天), adverbs, prepositions, particles; and no persons' names (nr…): a patient's
# name is personal data, which the page has no business spreading in large letters.
WORD_KINDS = frozenset(("", "n", "v", "a", "l", "i", "j", "e"))
NAMES = "nr"
# Words nearly every title has, which say nothing about what is going on.
HOT_STOP = frozenset((
    "网友", "记者", "近日", "日前", "今天", "今日", "昨天", "昨日", "目前", "表示", "相关",
    "情况", "问题", "工作", "进行", "开展", "我们", "他们", "你们", "什么", "怎么", "如何",
    "为什么", "可以", "已经", "还是", "就是", "这个", "那个", "一下", "一些", "没有", "不是",
    "知道", "大家", "通知", "关于", "发布", "消息", "新闻", "本报讯", "视频", "图片", "回复",
    "留言", "市民", "居民", "群众", "反映", "时候", "现在", "真的", "一直", "出现", "发生",
    "希望", "有关", "部门", "全市", "全县", "全区", "我市", "我县", "我区", "本市", "一起",
    "事件", "成为", "通报", "最新", "回应", "网传", "情况通报", "来了", "一个", "一名", "一位",
    "哪些", "多少", "需要", "要求", "有没有", "参加", "看到", "提示", "启动", "认定", "进入",
    "开始", "表明", "导致", "造成", "提醒", "注意", "提高", "加强", "推进", "举行", "召开",
    "印发", "标准", "正常", "个人", "东西", "地方", "国家", "全国", "全省", "中国", "网页",
    "链接", "全文", "问答", "咨询", "来电", "请问"))
_DIGITS = re.compile(r"\d")
_LATIN = re.compile(r"[a-z]")


class HotWords:
    def __init__(self, segmenter: Segmenter, places: Iterable[str]) -> None:
        """``places``: the jurisdiction's names and aliases; China's come from the gazetteer."""
        self.segmenter = segmenter
        self.not_words = HOT_STOP | set(places) | _china_places() | segmenter.stopwords
        self._known: dict[str, bool] = {}

    def count(self, titles: Sequence[str]) -> Counter[str]:
        """How many of the titles hold each telling word (a repeated title is cut once), the
        WORDS_KEPT most frequent."""
        words: Counter[str] = Counter()
        tag, known = self.segmenter.tagged, self._known
        for title, n in Counter(titles).items():
            for word, kind in set(tag(normalize(title))):
                if kind[:1] not in WORD_KINDS or kind.startswith(NAMES):
                    continue
                telling = known.get(word)
                if telling is None:  # a word is judged once: most words come again and again
                    telling = known[word] = self._telling(word)
                if telling:
                    words[word] += n
        if len(known) > TELLING_KEPT:
            known.clear()
        return Counter(dict(words.most_common(WORDS_KEPT)))

    def _telling(self, word: str) -> bool:
        if len(word) < 2 or word in self.not_words:
            return False
        if _DIGITS.search(word) and not _LATIN.search(word):
            return False  # dates, sums and serial numbers; PM2.5 stays
        return is_feature(word, self.not_words)


def _china_places() -> set[str]:
    """Every name and short form in the gazetteer of China's places."""
    try:
        lines = PLACES_CN_PATH.read_text(encoding="utf-8").splitlines()
    except OSError:  # the analysis reads the file too, and says what is wrong with it
        return set()
    return {name for line in lines for name in line.split("\t")[:2] if name}
