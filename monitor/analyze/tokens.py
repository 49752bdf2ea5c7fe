"""Word segmentation: jieba's dictionary and algorithm, run by rjieba (jieba-rs).

rjieba reads jieba's own dictionary and gives jieba's segmentation for Chinese text at about
ten times the speed; the two differ only in how they split runs of Latin letters, digits and
symbols (jieba: ``PD``, ``-``, ``1``; rjieba: ``PD-1``). The tests hold it to jieba on Chinese.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

import rjieba


class Segmenter:
    """jieba segmentation with the jurisdiction's and health words added to its dictionary.

    ``words`` returns every token; which of them become features (see ``is_feature``) is
    decided once, when the featurizer builds its vocabulary, so the hot path does no
    per-token filtering."""

    def __init__(self, user_words: Iterable[str] = (), stopwords: Iterable[str] = ()) -> None:
        self._jieba = rjieba.Jieba()
        words = sorted(set(user_words))
        for word in words:
            self._jieba.add_word(word, None, None)
        self.stopwords = frozenset(stopwords)
        # What the segmentation depends on, for the model card.
        self.fingerprint = hashlib.sha256(
            "\n".join([*words, "", *sorted(self.stopwords)]).encode()).hexdigest()

    def words(self, text: str) -> list[str]:
        """Every token, as jieba cuts it (HMM on for unknown words)."""
        return self._jieba.cut(text, True)

    def tagged(self, text: str) -> list[tuple[str, str]]:
        """Every token with its part of speech as jieba's tagger gives it (n, v, t, m…; ""
        for the words added to the dictionary), cut as ``words`` cuts."""
        return self._jieba.tag(text, True)


_WORDISH = re.compile(r"\w")


def is_feature(token: str, stopwords: frozenset[str]) -> bool:
    """Whether a token may be a word feature: not a stop word, not punctuation or space,
    not a lone Latin letter or digit."""
    if token in stopwords or not _WORDISH.search(token):
        return False
    return len(token) > 1 or not token.isascii()
