"""Sparse vectors for clustering: the strongest TF-IDF words of an item (the classifier's
segmenter and IDF weights), plus the places of the jurisdiction it names and its topics as
terms of their own. Posts about one event are often worded nothing alike ("孩子吃完午饭就上吐下泻"
and "孟定卫生院走廊里全是小学生"); the town, the unit and the topic are what they share.

A word the classifier never saw weighs as the rarest words it knows: a new story's own names
(孝义, 鑫泰, a person, a village) are seldom in any corpus, yet they are what its posts have in
common. Only words of two or more Chinese characters count so, not stop words, numbers or
stray letters."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from monitor.analyze.analyzer import CLASSIFY_CHARS, make_doc
from monitor.analyze.model import Model
from monitor.analyze.text import normalize, title_and_body
from monitor.analyze.tokens import Segmenter
from monitor.incidents.gazetteer import Gazetteer

Vector = dict[str, float]
_CHINESE = re.compile("[\u4e00-\u9fff]+")
ITEM_TERMS = 24  # strongest terms kept per item
CENTROID_TERMS = 48  # strongest terms kept per cluster


class Vectorizer:
    def __init__(self, model: Model, segmenter: Segmenter, place_weights: dict[str, float],
                 topic_weight: float, gazetteer: Gazetteer | None = None,
                 other_place_weights: Mapping[Any, float] | None = None) -> None:
        """``place_weights``: profile place name → weight of its term (a town or a hospital
        says more than the whole city); ``gazetteer`` finds the places elsewhere in China,
        weighed by level (``other_place_weights``)."""
        feat = model.featurizer
        self._idf = dict(zip(feat.words_.tolist(), feat.word_idf_.tolist(), strict=True))
        self._unseen_idf = float(feat.word_idf_.max()) if len(feat.word_idf_) else 1.0
        self._segmenter = segmenter
        self._places = place_weights
        self._topic = topic_weight
        self._gazetteer = gazetteer
        self._other_places = other_place_weights or {}
        self._levels = gazetteer.levels if gazetteer else {}

    def vector(self, title: str, body: str, places: tuple[str, ...] = (),
               topics: tuple[str, ...] = (), words: Sequence[str] | None = None) -> Vector:
        """Unit-length vector: the strongest words (sublinear TF × IDF), "@place" terms and
        "#topic" terms. ``words``: the text's words as the analysis read them, if known."""
        text = normalize(title_and_body(title, body)) if words is None or self._gazetteer \
            else ""
        if words is None:
            words = make_doc(self._segmenter, text).words
        idf, unseen, stopwords = self._idf, self._unseen_idf, self._segmenter.stopwords
        counts = Counter(w for w in words if w in idf or (
            len(w) > 1 and _CHINESE.fullmatch(w) is not None and w not in stopwords))
        weights = top({w: (1.0 + math.log(n)) * idf.get(w, unseen) for w, n in counts.items()},
                      ITEM_TERMS)
        for place in places:
            weights["@" + place] = self._places.get(place, 0.0)
        if self._gazetteer is not None:
            found = self._gazetteer.find(text[:CLASSIFY_CHARS], set(words))
            for place, level in found.items():
                weights["@" + place] = self._other_places.get(level, 0.0)
        for topic in topics:
            weights["#" + topic] = self._topic
        return unit({w: v for w, v in weights.items() if v > 0})

    def areas(self, vector: Vector) -> tuple[str, ...]:
        """Where outside the jurisdiction the vector's place terms say it happened: the
        counties, or failing those the prefectures (哈尔滨一养老院…)."""
        named = [(self._levels[t[1:]], t[1:]) for t in vector
                 if t[0] == "@" and t[1:] in self._levels]
        for level in ("county", "prefecture"):
            if found := sorted(name for lv, name in named if lv == level):
                return tuple(found)
        return ()


def top(weights: Vector, n: int) -> Vector:
    if len(weights) <= n:
        return weights
    # ties broken by the term, so the result never depends on insertion order; (weight, term)
    # pairs sort without a key function, which is twice as fast
    ranked = sorted((-v, t) for t, v in weights.items())[:n]
    return {t: -v for v, t in ranked}


def unit(weights: Vector) -> Vector:
    norm = math.sqrt(sum(v * v for v in weights.values()))
    return {w: v / norm for w, v in weights.items()} if norm else {}


def cosine(a: Vector, b: Vector) -> float:
    """Dot product (the cosine, for unit vectors). The shared terms are found by a set
    intersection and summed in term order, so that the sum never depends on the order of a
    set, which changes with each process's string hashing."""
    total = 0.0
    for term in sorted(a.keys() & b.keys()):
        total += a[term] * b[term]
    return total
