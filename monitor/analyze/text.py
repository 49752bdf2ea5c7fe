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
# Characters that OpenCC would change on their own. Mainland text contains none of them, so
# one regex scan decides whether the (phrase-aware, slower) conversion is needed at all.
_TRADITIONAL = re.compile("[" + "".join(
    ch for ch in map(chr, range(0x3400, 0xA000)) if _T2S.convert(ch) != ch) + "]")

_URL = re.compile(r"(?:https?://|www\.)[^\s\u3000-\u303f\uff00-\uffef<>\"'，。！？]+", re.IGNORECASE)
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
# Full-width ASCII and the ideographic space: by far the most common characters NFKC changes
# in Chinese text. Converting them directly and running NFKC only on the rest (about 3 % of
# texts: ellipses, circled numbers, ligatures) gives the same result at a third of the cost.
_FULL_WIDTH = re.compile("[\uff01-\uff5e\u3000]+")
_TO_HALF = str.maketrans({**{chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)},
                          "\u3000": " "})


def normalize(text: str) -> str:
    """Half-width, simplified, lower-case text without URLs, @mentions, emoji or markup.

    NFKC folds full-width letters, digits and punctuation to half width; OpenCC converts
    traditional characters (phrase-aware, e.g. 頭髮 → 头发); case is folded so that plan
    words match regardless of case.
    """
    if not text:
        return ""
    if not text.isascii():
        text = _FULL_WIDTH.sub(_half_width, text)
        if not unicodedata.is_normalized("NFKC", text):
            text = unicodedata.normalize("NFKC", text)
        if _TRADITIONAL.search(text):
            text = _T2S.convert(text)
    # These substring tests are much cheaper than a regex pass, and most texts fail them.
    if "http" in text or "www." in text or "WWW." in text:
        text = _URL.sub(" ", text)
    if "@" in text:
        text = _MENTION.sub(" ", text)
    text = _EMOJI.sub(" ", text)
    text = _BOILERPLATE.sub(" ", text)
    return " ".join(text.split()).casefold()


def half_width(text: str) -> str:
    """Full-width ASCII and the ideographic space as half width; the length is unchanged."""
    return text.translate(_TO_HALF)


def _half_width(match: re.Match[str]) -> str:
    return half_width(match.group())


def title_and_body(title: str, body: str) -> str:
    """One text of an item; feeds often repeat the title as the body's first line."""
    return f"{title}\n{body}" if title and not body.startswith(title) else body or title


def plain_text(summary_html: str) -> str:
    """Visible text of a sanitised HTML summary."""
    if "<" not in summary_html and "&" not in summary_html:
        return summary_html
    return html.unescape(_TAG.sub(" ", summary_html))
