"""Features for the linear classifier: words and character n-grams, TF-IDF weighted.

Two blocks, each L2-normalised, side by side: words from the segmenter (they carry meaning,
"号贩子", "疫苗") and character unigrams and bigrams of the normalised text (they survive
segmentation errors, new words and typos). The character block is computed with numpy over
whole batches, which is what makes classification fast enough for a firehose.

The featurizer is a scikit-learn transformer, so training runs it inside a Pipeline and
cross-validation refits its vocabulary on each fold; its fitted state is plain arrays that
are saved without pickle.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

_SHIFT = np.uint64(21)  # code points fit in 21 bits
_UNIGRAM = np.uint64(1) << np.uint64(42)  # marks a unigram key so it never equals a bigram key


@dataclass(frozen=True, slots=True)
class Doc:
    """A text ready for featurizing: normalised characters and segmented words."""

    text: str
    words: list[str]


def gram_keys(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Character unigram and bigram keys of every text, and the index of the text each came
    from. Only CJK characters, Latin letters and digits count; digits are folded to 0 and any
    other character breaks a bigram."""
    if not texts:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    joined = "\x00".join(texts)
    cp = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    cp[(cp >= 0x30) & (cp <= 0x39)] = 0x30
    cjk = ((cp >= 0x4E00) & (cp <= 0x9FFF)) | ((cp >= 0x3400) & (cp <= 0x4DBF))
    word = cjk | ((cp >= 0x61) & (cp <= 0x7A)) | (cp == 0x30)
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    doc_of = np.repeat(np.arange(len(texts)), lengths + 1)[: len(cp)]

    uni = np.flatnonzero(cjk)
    pair = np.flatnonzero(word[:-1] & word[1:])
    keys = np.concatenate((cp[uni] | _UNIGRAM, (cp[pair] << _SHIFT) | cp[pair + 1]))
    docs = np.concatenate((doc_of[uni], doc_of[pair]))
    return keys, docs


def _tfidf_rows(rows: np.ndarray, cols: np.ndarray, n_rows: int, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear TF × IDF, each row scaled to unit length."""
    counts = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)),
                           shape=(n_rows, len(idf)), dtype=np.float32)
    counts.sum_duplicates()
    counts.data = (1.0 + np.log(counts.data)) * idf[counts.indices]
    norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ counts, dtype=np.float32)


def _idf(df: np.ndarray, n_docs: int) -> np.ndarray:
    # scikit-learn's smoothed idf
    return (np.log((1 + n_docs) / (1 + df)) + 1).astype(np.float32)


class Featurizer(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Docs → a sparse matrix of word and character features. ``min_df``: a feature must
    occur in at least this many training texts."""

    def __init__(self, min_df: int = 2) -> None:
        self.min_df = min_df

    def fit(self, docs: Sequence[Doc], y: object = None) -> Featurizer:
        df: Counter[str] = Counter()
        for doc in docs:
            df.update(set(doc.words))
        words = sorted(w for w, n in df.items() if n >= self.min_df)
        self.words_ = np.array(words, dtype=str)
        self.word_idf_ = _idf(np.array([df[w] for w in words], np.float64), len(docs))

        keys, doc_of = gram_keys([d.text for d in docs])
        pairs = np.unique((keys, doc_of), axis=1) if len(keys) else np.empty((2, 0), np.uint64)
        grams, gram_df = np.unique(pairs[0], return_counts=True)
        keep = gram_df >= self.min_df
        self.grams_ = grams[keep].astype(np.uint64)
        self.gram_idf_ = _idf(gram_df[keep].astype(np.float64), len(docs))
        self._index()
        return self

    @classmethod
    def from_arrays(cls, words: np.ndarray, word_idf: np.ndarray, grams: np.ndarray,
                    gram_idf: np.ndarray) -> Featurizer:
        feat = cls()
        feat.words_, feat.word_idf_ = words, word_idf.astype(np.float32)
        feat.grams_, feat.gram_idf_ = grams.astype(np.uint64), gram_idf.astype(np.float32)
        feat._index()
        return feat

    def _index(self) -> None:
        self._word_index = {w: i for i, w in enumerate(self.words_.tolist())}

    @property
    def n_features(self) -> int:
        return len(self.words_) + len(self.grams_)

    def transform(self, docs: Sequence[Doc]) -> sp.csr_matrix:
        index = self._word_index
        rows: list[int] = []
        cols: list[int] = []
        for i, doc in enumerate(docs):
            for word in doc.words:
                j = index.get(word)
                if j is not None:
                    rows.append(i)
                    cols.append(j)
        words = _tfidf_rows(np.array(rows, np.int64), np.array(cols, np.int64), len(docs),
                            self.word_idf_)

        keys, doc_of = gram_keys([d.text for d in docs])
        at = np.searchsorted(self.grams_, keys)
        at[at == len(self.grams_)] = 0
        found = self.grams_[at] == keys if len(self.grams_) else np.zeros(len(keys), bool)
        grams = _tfidf_rows(doc_of[found], at[found], len(docs), self.gram_idf_)
        return sp.hstack((words, grams), format="csr", dtype=np.float32)
