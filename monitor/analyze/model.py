"""The trained classifier as it is shipped: plain arrays and a model card, no pickle.

``classifier.npz`` holds the featurizer's vocabulary and IDF weights, one linear scorer per
output and each scorer's sigmoid calibration; ``classifier.card.json`` records how it was
made (metrics, corpus hash, date, versions) and the SHA-256 of the npz. Loading refuses a
model whose bytes do not match its card, so a file swapped in or edited after training is
never used.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from monitor.analyze.features import Doc, Featurizer
from monitor.errors import ConfigError

MODEL_FILE = "classifier.npz"
CARD_FILE = "classifier.card.json"
FORMAT = 1
_ARRAYS = ("words", "word_idf", "grams", "gram_idf", "coef", "intercept", "cal_a", "cal_b")


class ModelError(ConfigError):
    """The model is missing, damaged, or does not match its card."""


@dataclass(frozen=True)
class Model:
    outputs: tuple[str, ...]  # "health", the topic keys, "negative"
    featurizer: Featurizer
    coef: np.ndarray  # (n_features, n_outputs)
    intercept: np.ndarray  # (n_outputs,)
    cal_a: np.ndarray  # sigmoid calibration: p = 1 / (1 + exp(a * score + b))
    cal_b: np.ndarray
    card: dict[str, Any]

    @property
    def ident(self) -> str:
        return str(self.card["model_sha256"])[:12]

    def predict(self, docs: list[Doc]) -> np.ndarray:
        """Calibrated probabilities, one row per doc, one column per output."""
        return self.predict_explained(docs)[0]

    def predict_explained(self, docs: list[Doc], output: str = "", threshold: float = 0.5,
                          also: str = "", k: int = 3) -> tuple[np.ndarray, list[tuple[str, ...]]]:
        """Probabilities as ``predict``, and for every doc whose ``output`` (and ``also``, if
        given) reaches ``threshold`` the ``k`` features that raised ``output`` most (words and
        character pairs; single characters say too little to show)."""
        if not docs:
            return np.empty((0, len(self.outputs)), np.float32), []
        X = self.featurizer.transform(docs)
        scores = np.asarray(X @ self.coef) + self.intercept
        probs: np.ndarray = 1.0 / (1.0 + np.exp(self.cal_a * scores + self.cal_b))
        reasons: list[tuple[str, ...]] = [()] * len(docs)
        if output:
            j = self.outputs.index(output)
            chosen = probs[:, j] >= threshold
            if also:
                chosen &= probs[:, self.outputs.index(also)] >= threshold
            rows = np.flatnonzero(chosen)
            if len(rows):
                sub = X[rows].tocoo()
                gain = sub.data * self.coef[sub.col, j]
                keep = (gain > 0) & self.featurizer.telling_[sub.col]
                row, col, gain = sub.row[keep], sub.col[keep], gain[keep]
                # by row, the largest gain first; then the first k of each row, all at once
                order = np.lexsort((-gain, row))
                row, col = row[order], col[order]
                starts = np.searchsorted(row, row, side="left")
                top = (np.arange(len(row)) - starts) < k
                name = self.featurizer.feature_name
                for r, c in zip(row[top].tolist(), col[top].tolist(), strict=True):
                    at = int(rows[r])
                    reasons[at] = (*reasons[at], name(c))
        return probs, reasons


def save_model(directory: Path, model: Model) -> dict[str, Any]:
    """Write the npz (byte-for-byte reproducible) and its card; returns the card."""
    feat = model.featurizer
    arrays = {"words": feat.words_, "word_idf": feat.word_idf_, "grams": feat.grams_,
              "gram_idf": feat.gram_idf_, "coef": model.coef.astype(np.float32),
              "intercept": model.intercept, "cal_a": model.cal_a, "cal_b": model.cal_b}
    data = _npz_bytes(arrays)
    card = {**model.card, "format": FORMAT, "outputs": list(model.outputs),
            "model_file": MODEL_FILE, "model_sha256": hashlib.sha256(data).hexdigest()}
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MODEL_FILE).write_bytes(data)
    (directory / CARD_FILE).write_text(json.dumps(card, ensure_ascii=False, indent=2) + "\n",
                                       encoding="utf-8")
    return card


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """np.savez stamps the current time into the zip; this writes fixed times instead."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in _ARRAYS:
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(arrays[name]),
                                      allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, member.getvalue())
    return buffer.getvalue()


def load_model(directory: Path, topics: list[str]) -> Model:
    """Load and verify the model in ``directory`` for the given taxonomy keys."""
    card_path, model_path = directory / CARD_FILE, directory / MODEL_FILE
    retrain = "run `monitor train` to build it from the corpus"
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
        data = model_path.read_bytes()
    except FileNotFoundError as exc:
        raise ModelError(f"{exc.filename}: not found; {retrain}") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"{card_path}: cannot read the model card ({exc}); {retrain}") from None
    if not isinstance(card, dict) or card.get("format") != FORMAT:
        raise ModelError(f"{card_path}: not a model card of format {FORMAT}; {retrain}")
    digest = hashlib.sha256(data).hexdigest()
    if digest != card.get("model_sha256"):
        raise ModelError(
            f"{model_path} does not match its card {card_path} (sha256 {digest[:12]}…, card "
            f"says {str(card.get('model_sha256'))[:12]}…): the file was changed after training "
            f"or comes from elsewhere, and is refused; {retrain}")
    expected = ["health", *topics, "negative"]
    if card.get("outputs") != expected:
        raise ModelError(f"{card_path}: the model was trained for outputs {card.get('outputs')} "
                         f"but the taxonomy gives {expected}; {retrain}")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            a = {name: npz[name] for name in _ARRAYS}
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"{model_path}: cannot read ({exc}); {retrain}") from None
    featurizer = Featurizer.from_arrays(a["words"], a["word_idf"], a["grams"], a["gram_idf"])
    if a["coef"].shape != (featurizer.n_features, len(expected)):
        raise ModelError(f"{model_path}: arrays do not fit together; {retrain}")
    return Model(tuple(expected), featurizer, a["coef"], a["intercept"], a["cal_a"],
                 a["cal_b"], card)
