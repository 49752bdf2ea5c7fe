"""Features for the linear classifier: words and character n-grams, TF-IDF weighted.

Two blocks, each L2-normalised, side by side: words from the segmenter (they carry meaning,
"号贩子", "疫苗") and character unigrams and bigrams of the normalised text (they survive
segmentation errors, new words and typos). The character block is computed with numpy over
whole batches, which is what makes classification fast enough for a firehose.

Training wraps the featurizer as a scikit-learn transformer (train.py), so cross-validation
refits its vocabulary on each fold; classifying needs only numpy and scipy, which keeps the
command line's start short. Its fitted state is plain arrays that are saved without pickle.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat

import numpy as np
import scipy.sparse as sp

from monitor.analyze.tokens import is_feature

_SHIFT = np.uint64(21)  # code points fit in 21 bits
_UNIGRAM = np.uint64(1) << np.uint64(42)  # marks a unigram key so it never equals a bigram key
_ROW_BITS = np.uint64(21)
_ROW_MASK = np.uint64((1 << 21) - 1)
MAX_BATCH = 1 << 21  # rows per transform call, so that a row index fits beside a key


@dataclass(frozen=True, slots=True)
class Doc:
    """A text ready for featurizing: normalised characters, segmented words and the tone cues
    found in it (cues.py), which are featurized as words."""

    text: str
    words: list[str]
    cues: tuple[str, ...] = ()


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


def _count(keys: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (key, row) pairs and how often each occurs, sorted by key: one sort of
    packed integers (keys below 2**43, rows below 2**21), no argsort."""
    packed, counts = np.unique((keys.astype(np.uint64) << _ROW_BITS) | rows.astype(np.uint64),
                               return_counts=True)
    return packed >> _ROW_BITS, (packed & _ROW_MASK).astype(np.int64), counts


def _tfidf(rows: np.ndarray, cols: np.ndarray, counts: np.ndarray, n_rows: int,
           idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear TF × IDF from distinct (row, column) cells, each row scaled to unit length."""
    data = ((1.0 + np.log(counts)) * idf[cols]).astype(np.float32)
    norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=n_rows))
    norms[norms == 0] = 1.0
    data /= norms[rows].astype(np.float32)
    cells = sp.coo_matrix((data, (rows, cols)), shape=(n_rows, len(idf)))
    cells.has_canonical_format = True  # the cells are distinct: nothing to sum or sort
    return cells.tocsr()


def _idf(df: np.ndarray, n_docs: int) -> np.ndarray:
    # scikit-learn's smoothed idf
    return (np.log((1 + n_docs) / (1 + df)) + 1).astype(np.float32)


class Featurizer:
    """Docs → a sparse matrix of word and character features. ``min_df``: a feature must
    occur in at least this many training texts."""

    def __init__(self, min_df: int = 2, stopwords: frozenset[str] = frozenset()) -> None:
        self.min_df = min_df
        self.stopwords = stopwords

    def fit(self, docs: Sequence[Doc], y: object = None) -> Featurizer:
        df: Counter[str] = Counter()
        for doc in docs:
            df.update({*doc.words, *doc.cues})
        words = sorted(w for w, n in df.items()
                       if n >= self.min_df and is_feature(w, self.stopwords))
        self.words_ = np.array(words, dtype=str)
        self.word_idf_ = _idf(np.array([df[w] for w in words], np.float64), len(docs))

        keys, doc_of = gram_keys([d.text for d in docs])
        pair_keys, _, _ = _count(keys, doc_of)  # each key once per text
        grams, gram_df = np.unique(pair_keys, return_counts=True)
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
        # words and character pairs say what a text is about; a single character does not
        self.telling_ = np.concatenate((np.ones(len(self.words_), bool),
                                        (self.grams_ & _UNIGRAM) == 0))

    @property
    def n_features(self) -> int:
        return len(self.words_) + len(self.grams_)

    def feature_name(self, column: int) -> str:
        """A column as text: the word, or the one or two characters of an n-gram."""
        if column < len(self.words_):
            return str(self.words_[column])
        key = int(self.grams_[column - len(self.words_)])
        if key & int(_UNIGRAM):
            return chr(key & ~int(_UNIGRAM))
        return chr(key >> int(_SHIFT)) + chr(key & ((1 << int(_SHIFT)) - 1))

    def transform(self, docs: Sequence[Doc]) -> sp.csr_matrix:
        if len(docs) > MAX_BATCH:
            return sp.vstack([self.transform(docs[at:at + MAX_BATCH])
                              for at in range(0, len(docs), MAX_BATCH)], format="csr")
        n = len(docs)
        # Tokens outside the vocabulary (stop words, punctuation, unseen words) map to -1.
        tokens: list[str] = []
        for doc in docs:
            tokens += doc.words
            tokens += doc.cues
        cols = np.fromiter(map(self._word_index.get, tokens, repeat(-1)), np.int64, len(tokens))
        lengths = np.fromiter((len(d.words) + len(d.cues) for d in docs), np.int64, n)
        rows = np.repeat(np.arange(n), lengths)
        known = cols >= 0
        word_cols, word_rows, word_counts = _count(cols[known], rows[known])
        words = _tfidf(word_rows, word_cols.astype(np.int64), word_counts, n, self.word_idf_)

        keys, doc_of = gram_keys([d.text for d in docs])
        # Sorted by key, the pairs meet the sorted vocabulary in one cheap binary search.
        gram_keys_, gram_rows, gram_counts = _count(keys, doc_of)
        at = np.searchsorted(self.grams_, gram_keys_)
        at[at == len(self.grams_)] = 0
        hit = (self.grams_[at] == gram_keys_ if len(self.grams_)
               else np.zeros(len(gram_keys_), bool))
        grams = _tfidf(gram_rows[hit], at[hit], gram_counts[hit], n, self.gram_idf_)
        return sp.hstack((words, grams), format="csr", dtype=np.float32)
