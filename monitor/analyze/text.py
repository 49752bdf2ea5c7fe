"""Text normalisation shared by the classifier and the watch plans.

Both see the same normalised text, so a plan word typed in simplified characters matches a post
written in traditional ones, and ``ＰＭ２．５`` matches ``pm2.5``.
"""

from __future__ import annotations

import html
import re
import unicodedata

import opencc

_T2S = opencc.OpenCC("t2s")

_URL = re.compile(r"(?:https?://|www\.)[^\s\u3000-\u303f\uff00-\uffef<>\"'，。！？]+", re.I)
# "@name" up to a space, punctuation or the end; Weibo names are up to 30 characters.
_MENTION = re.compile(r"@[\w\u4e00-\u9fff\-·]{1,30}")
_TAG = re.compile(r"<[^>]{0,2000}>")
# Pictographs, symbols, dingbats, flags, variation selectors and joiners used by emoji.
_EMOJI = re.compile(
    "[\U0001F000-\U0001FAFF\U00002600-\U000027BF\U0001F1E6-\U0001F1FF"
    "\U00002B00-\U00002BFF\U0000FE0E\U0000FE0F\U0000200D\U000020E3]+")
# Boilerplate that social platforms and portals add to every post.
_BOILERPLATE = re.compile(r"展开全文|收起全文|网页链接|转发微博|查看图片|原图|\[[^\[\]]{1,8}\]|"
                          r"//\s*(?=[^\s])")
_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Half-width, simplified, lower-case text without URLs, @mentions, emoji or markup.

    NFKC folds full-width letters, digits and punctuation to half width; OpenCC converts
    traditional characters (phrase-aware, e.g. 頭髮 → 头发); case is folded so that plan
    words match regardless of case.
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    if not text.isascii():
        text = _T2S.convert(text)
    text = _URL.sub(" ", text)
    text = _MENTION.sub(" ", text)
    text = _EMOJI.sub(" ", text)
    text = _BOILERPLATE.sub(" ", text)
    return _SPACE.sub(" ", text).strip().casefold()


def plain_text(summary_html: str) -> str:
    """Visible text of a sanitised HTML summary."""
    if "<" not in summary_html and "&" not in summary_html:
        return summary_html
    return html.unescape(_TAG.sub(" ", summary_html))
