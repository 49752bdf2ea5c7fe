"""Word segmentation: jieba's dictionary and algorithm, run by rjieba (jieba-rs).

rjieba reads jieba's own dictionary and gives jieba's segmentation for Chinese text at about
ten times the speed; the two differ only in how they split runs of Latin letters, digits and
symbols (jieba: ``PD``, ``-``, ``1``; rjieba: ``PD-1``). The tests hold it to jieba on Chinese.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import rjieba


class Segmenter:
    """Segments normalised text into content words: stop words, punctuation, spaces and
    single Latin letters or digits are dropped; numbers become ``0`` so that "3人" and "12人"
    share a feature."""

    def __init__(self, user_words: Iterable[str] = (), stopwords: Iterable[str] = ()) -> None:
        self._jieba = rjieba.Jieba()
        words = sorted(set(user_words))
        for word in words:
            self._jieba.add_word(word, None, None)
        self._stop = frozenset(stopwords)
        # What the segmentation depends on, for the model card.
        self.fingerprint = hashlib.sha256(
            "\n".join([*words, "", *sorted(self._stop)]).encode()).hexdigest()

    def raw(self, text: str) -> list[str]:
        """Every token, as jieba would cut it (HMM on for unknown words)."""
        return list(self._jieba.cut(text, True))

    def words(self, text: str) -> list[str]:
        stop = self._stop
        out = []
        for token in self._jieba.cut(text, True):
            if token in stop or not _has_word_char(token):
                continue
            if token.isdigit():
                out.append("0")
            elif len(token) > 1 or not token.isascii():
                out.append(token)
        return out


def _has_word_char(token: str) -> bool:
    return any(ch.isalnum() for ch in token)
