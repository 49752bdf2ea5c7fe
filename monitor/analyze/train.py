"""Training: corpus → cross-validated metrics → fitted pipeline → shipped arrays and card.

The pipeline is scikit-learn's: the Featurizer (words and character n-grams, TF-IDF), then per
output a logistic regression whose scores are calibrated by CalibratedClassifierCV (sigmoid,
fitted on cross-validated scores). Everything is seeded, the vocabulary sorted and the npz
written with fixed timestamps, so the same corpus gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_fscore_support, roc_auc_score
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline

from monitor.analyze.features import Doc, Featurizer
from monitor.analyze.model import Model
from monitor.analyze.text import plain_text
from monitor.errors import ConfigError
from monitor.store.labels import LabelledItem

UNKNOWN = -1  # a label nobody gave (feedback that says "relevant" without a topic)
C = 10.0  # inverse regularisation; chosen by cross-validation on the corpus
SEED = 0


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    health: int
    topics: tuple[str, ...] | None  # None: unknown
    negative: int | None  # None: unknown
    origin: str  # "corpus:<file>:<line>" or "feedback:<item id>"
    style: str = ""  # how it is written (headline, weibo, repost…); "" for feedback


@dataclass
class Corpus:
    examples: list[Example]
    sha256: str
    files: dict[str, int] = field(default_factory=dict)  # file name → lines


def read_corpus(directory: Path, topics: Sequence[str]) -> Corpus:
    """Every ``*.jsonl`` file of ``directory``, in name order; a bad line is an error with
    its file and line, since training on a silently skipped corpus would mislead."""
    files = sorted(directory.glob("*.jsonl"))
    if not files:
        raise ConfigError(f"{directory}: no *.jsonl corpus files")
    digest = hashlib.sha256()
    examples: list[Example] = []
    counts: dict[str, int] = {}
    known = set(topics)
    for path in files:
        data = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + data + b"\0")
        counts[path.name] = 0
        for number, line in enumerate(data.decode("utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
                text, health = record["text"], int(record["health"])
                labels = tuple(record["topics"])
                negative = int(record["negative"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ConfigError(f"{where}: not a corpus record ({exc})") from None
            if unknown := set(labels) - known:
                raise ConfigError(f"{where}: unknown topic(s) {sorted(unknown)}; the taxonomy "
                                  f"has {sorted(known)}")
            examples.append(Example(text, health, labels, negative, f"corpus:{path.name}:{number}",
                                    str(record.get("style") or "")))
            counts[path.name] += 1
    return Corpus(examples, digest.hexdigest(), counts)


def feedback_examples(rows: Sequence[LabelledItem]) -> list[Example]:
    """Labelled items as training examples; what the labeller did not say stays unknown."""
    examples = []
    for row in rows:
        label = row.label
        text = f"{row.title}\n{plain_text(row.summary)}".strip()
        topics = () if not label.relevant else label.topics
        negative = None if label.negative is None else int(label.negative)
        examples.append(Example(text, int(label.relevant), topics, negative,
                                f"feedback:{label.item_id}"))
    return examples


def add_feedback(corpus: Corpus, examples: Sequence[Example]) -> Corpus:
    """The corpus plus feedback; the hash then covers both."""
    if not examples:
        return corpus
    digest = hashlib.sha256(corpus.sha256.encode())
    for ex in examples:
        digest.update(json.dumps([ex.origin, ex.text, ex.health, ex.topics, ex.negative],
                                 ensure_ascii=False).encode() + b"\n")
    return Corpus([*corpus.examples, *examples], digest.hexdigest(), corpus.files)


def targets(examples: Sequence[Example], topics: Sequence[str]) -> np.ndarray:
    """One row per example: health, each topic, negative; UNKNOWN where not labelled."""
    rows = []
    for ex in examples:
        if ex.topics is None:
            topic_row = [UNKNOWN if ex.health else 0] * len(topics)
        else:
            topic_row = [int(t in ex.topics) for t in topics]
        rows.append([ex.health, *topic_row, UNKNOWN if ex.negative is None else ex.negative])
    return np.array(rows, dtype=np.int64)


class PerOutput(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """One binary classifier per column of Y, each trained on the rows where its label is
    known. ``predict_proba`` gives the positive-class probability of every output."""

    def __init__(self, estimator: Any = None) -> None:
        self.estimator = estimator

    def fit(self, X: Any, Y: np.ndarray) -> PerOutput:
        self.estimators_ = []
        for k in range(Y.shape[1]):
            rows = Y[:, k] != UNKNOWN
            if len(set(Y[rows, k].tolist())) < 2:
                raise ConfigError(f"output #{k} has examples of one class only; the corpus "
                                  "needs positive and negative examples of every label")
            self.estimators_.append(clone(self.estimator).fit(X[rows], Y[rows, k]))
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.column_stack([e.predict_proba(X)[:, 1] for e in self.estimators_])


class FeaturizerStep(Featurizer, TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """The featurizer as a scikit-learn step, so that cloning for a fold refits it."""


def build_pipeline(stopwords: frozenset[str]) -> Pipeline:
    linear = LogisticRegression(C=C, solver="liblinear", random_state=SEED)
    calibrated = CalibratedClassifierCV(linear, method="sigmoid", cv=5, ensemble=False)
    return Pipeline([("features", FeaturizerStep(min_df=2, stopwords=stopwords)),
                     ("model", PerOutput(calibrated))])


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float
    support: int  # positive examples
    auc: float | None = None  # ROC AUC, where both classes occur


def score(truth: np.ndarray, probs: np.ndarray) -> Scores:
    """Precision, recall and F1 at 0.5, and ROC AUC, of known labels."""
    p, r, f, _ = precision_recall_fscore_support(truth, probs >= 0.5, average="binary",
                                                 zero_division=0)
    auc = (round(float(roc_auc_score(truth, probs)), 4) if 0 < truth.sum() < len(truth)
           else None)
    return Scores(round(float(p), 4), round(float(r), 4), round(float(f), 4),
                  int(truth.sum()), auc)


def out_of_fold(docs: Sequence[Doc], Y: np.ndarray, stopwords: frozenset[str],
                folds: int = 5, progress: Callable[[str], None] = lambda _: None) -> np.ndarray:
    """Out-of-fold probabilities of every output (the vocabulary too is refitted on each
    fold, so no test text leaks into its features)."""
    P = np.zeros(Y.shape, dtype=np.float64)
    docs_arr = _objects(docs)
    splits = KFold(folds, shuffle=True, random_state=SEED).split(docs_arr)
    for n, (train, test) in enumerate(splits, 1):
        progress(f"cross-validation fold {n}/{folds}")
        fitted = build_pipeline(stopwords).fit(list(docs_arr[train]), Y[train])
        P[test] = fitted.predict_proba(list(docs_arr[test]))
    return P


def scores_of(Y: np.ndarray, P: np.ndarray, outputs: Sequence[str],
              rows: np.ndarray | None = None) -> dict[str, Scores]:
    """Scores of every output over ``rows`` (default all), where its label is known."""
    chosen = np.ones(len(Y), bool) if rows is None else rows
    result = {}
    for k, name in enumerate(outputs):
        known = chosen & (Y[:, k] != UNKNOWN)
        result[name] = score(Y[known, k], P[known, k])
    return result


# Leave-one-style-out scores the outputs that decide whether a story is seen at all.
HELD_OUT_OUTPUTS = ("health", "negative")
MIN_STYLE = 50  # a style with fewer examples is always trained on, never held out


@dataclass(frozen=True)
class StyleScores:
    style: str
    examples: int
    held_out: dict[str, Scores]  # trained without the style, tested on it
    in_style: dict[str, Scores]  # the same texts, from cross-validation with the style seen


def leave_one_style_out(docs: Sequence[Doc], Y: np.ndarray, styles: Sequence[str],
                        outputs: Sequence[str], P: np.ndarray, stopwords: frozenset[str],
                        progress: Callable[[str], None] = lambda _: None) -> list[StyleScores]:
    """For each style: train on every other style, test on it. Compared with the
    cross-validated figure on the same texts (``P``), the gap is how much the model leans
    on having seen a style, the honest estimate for text in a voice it has never met."""
    columns = [outputs.index(name) for name in HELD_OUT_OUTPUTS]
    docs_arr = _objects(docs)
    style_arr = np.array(styles, dtype=object)
    counts = Counter(s for s in styles if s)
    chosen = sorted(s for s, n in counts.items() if n >= MIN_STYLE)
    result = []
    for n, style in enumerate(chosen, 1):
        progress(f"leave-one-style-out {n}/{len(chosen)}: {style}")
        test = style_arr == style
        fitted = build_pipeline(stopwords).fit(list(docs_arr[~test]), Y[~test][:, columns])
        held = fitted.predict_proba(list(docs_arr[test]))
        result.append(StyleScores(
            style, int(test.sum()),
            scores_of(Y[test][:, columns], held, HELD_OUT_OUTPUTS),
            scores_of(Y[:, columns], P[:, columns], HELD_OUT_OUTPUTS, test)))
    return result


def _objects(docs: Sequence[Doc]) -> np.ndarray:
    array = np.empty(len(docs), dtype=object)
    array[:] = list(docs)
    return array


def fit(docs: Sequence[Doc], Y: np.ndarray, outputs: Sequence[str], stopwords: frozenset[str],
        card: dict[str, Any]) -> Model:
    """Fit on everything and turn the pipeline into the shipped arrays; checks that the two
    give the same probabilities before returning."""
    pipeline = build_pipeline(stopwords).fit(list(docs), Y)
    featurizer: Featurizer = pipeline.named_steps["features"]
    coefs, intercepts, cal_a, cal_b = [], [], [], []
    for calibrated in pipeline.named_steps["model"].estimators_:
        inner = calibrated.calibrated_classifiers_[0]
        coefs.append(inner.estimator.coef_[0])
        intercepts.append(inner.estimator.intercept_[0])
        cal_a.append(inner.calibrators[0].a_)
        cal_b.append(inner.calibrators[0].b_)
    model = Model(tuple(outputs), featurizer, np.column_stack(coefs).astype(np.float32),
                  np.array(intercepts), np.array(cal_a), np.array(cal_b), card)
    sample = list(docs[:500])
    gap = np.abs(model.predict(sample) - pipeline.predict_proba(sample)).max()
    if gap > 1e-3:
        raise RuntimeError(f"exported model differs from the pipeline by {gap:.2g}")
    return model


def model_card(corpus: Corpus, metrics: dict[str, Scores], segmenter_fingerprint: str,
               trained_at: datetime, seconds: float, feedback: int,
               styles: Sequence[StyleScores] = (), tone_fingerprint: str = "") -> dict[str, Any]:
    packages = ("scikit-learn", "numpy", "scipy", "rjieba", "opencc")
    return {
        "trained_at": trained_at.isoformat(timespec="seconds"),
        "training_seconds": round(seconds, 1),
        "corpus_sha256": corpus.sha256,
        "corpus_files": corpus.files,
        "examples": len(corpus.examples),
        "feedback_examples": feedback,
        "segmenter_sha256": segmenter_fingerprint,
        "tone_sha256": tone_fingerprint,
        "pipeline": {"features": "words + tone cues + character unigrams/bigrams, sublinear "
                                 "TF-IDF, min_df=2", "model": f"LogisticRegression(C={C}, liblinear) "
                                 "+ CalibratedClassifierCV(sigmoid, cv=5)", "threshold": 0.5},
        "metrics": {"method": "5-fold cross-validation, shuffled, seed 0",
                    **{name: vars(s) for name, s in metrics.items()}},
        "leave_one_style_out": {
            s.style: {"examples": s.examples,
                      **{name: {"held_out": vars(s.held_out[name]),
                                "in_style": vars(s.in_style[name])}
                         for name in HELD_OUT_OUTPUTS}}
            for s in styles},
        "versions": {"python": platform.python_version(),
                     **{name: version(name) for name in packages}},
    }


def timed() -> Callable[[], float]:
    start = time.perf_counter()
    return lambda: time.perf_counter() - start
