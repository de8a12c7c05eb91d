"""Intent classification with an explicit "out of scope" answer, the same code for the service and for
`make nlu-bench`.

The model: TF-IDF over stems/lemmas (unigrams and bigrams, stop words kept) and over character 2–5-grams
within word boundaries (which also covers Japanese compounds the analyser splits differently), sublinear
term frequency, one linear SVM over all intents plus an `out_of_scope` class learnt from out-of-scope
examples: the deployment's own (label `oos`) and a generic set shipped with the service (GENERIC_OOS), so
that the model knows what out of scope looks like even when the deployment has no such examples. Scores
become probabilities through a softmax whose temperature is fitted on held-out data; a message is out of
scope when the out-of-scope class wins or the best intent's probability is below a threshold. The
threshold and an offset on the out-of-scope class's score are chosen together on the same held-out data:
the most out-of-scope recall that costs at most a stated share of in-scope accuracy (see `training`).

This module is what the service runs: plain numpy over the learnt vocabularies and weights, saved as
arrays and JSON (no pickle). Training needs scikit-learn and lives in `training`: a serving process never
imports scikit-learn or SciPy, and scoring skips scikit-learn's per-call input validation. The example
files are read by `examples` (re-exported here).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, cast

import numpy as np

from helpdesk.events import MAX_INTENT_NAME_CHARS, OUT_OF_SCOPE, Intent, IntentScore, Language
from helpdesk.text import detect_language, normalise
from services.nlp.pipeline.encoder import StaticEncoder
from services.nlp.pipeline.examples import GENERIC_OOS as GENERIC_OOS
from services.nlp.pipeline.examples import OOS_LABELS as OOS_LABELS
from services.nlp.pipeline.examples import Example as Example
from services.nlp.pipeline.examples import label_of as label_of
from services.nlp.pipeline.examples import load_directory as load_directory
from services.nlp.pipeline.examples import load_examples as load_examples
from services.nlp.pipeline.examples import load_generic_oos as load_generic_oos
from services.nlp.pipeline.examples import load_splits as load_splits
from services.nlp.pipeline.tokenise import classification_terms

MODEL_FORMAT = 4
"""Bumped when the features, the calibration or the saved layout change, so cached models are retrained."""
ALTERNATIVES = 3
CHAR_NGRAMS = (2, 5)


@dataclass(frozen=True, slots=True)
class Prediction:
    intent: Intent
    out_of_scope: bool


class HeldOut(StrEnum):
    """Which held-out data calibrated a model."""

    VALIDATION = "validation"
    """The example file's own validation split."""
    K_FOLD = "k-fold"
    """Out-of-fold predictions of a cross-validation over the training examples."""
    NONE = "none"
    """Not calibrated (the intermediate models calibration is computed from)."""


class FeatureAnalyzer(StrEnum):
    """How a TF-IDF block turns a message into features (saved with the model by this name)."""

    TERMS = "terms"
    """Stems or lemmas and their bigrams (`term_features`)."""
    CHARS = "chars"
    """Character n-grams inside word boundaries (`char_features`)."""


@dataclass(frozen=True, slots=True)
class Calibration:
    """What the held-out data decided: the softmax temperature, the out-of-scope threshold and the offset
    taken off the out-of-scope class's score (already folded into the served model's bias)."""

    temperature: float
    threshold: float
    target_oos_recall: float
    """0 when no recall target was set (the accuracy budget alone decides)."""
    heldout: HeldOut
    heldout_accuracy: float
    """In-scope accuracy at the operating point: the right intent, and not rejected."""
    heldout_oos_recall: float | None
    """Share of the deployment's own held-out out-of-scope examples rejected (None: it has none)."""
    oos_offset: float = 0.0
    max_accuracy_loss: float = 0.0
    """The budget the operating point was chosen with (after the k-fold discount)."""
    heldout_reference_accuracy: float | None = None
    """In-scope accuracy with no rejection at all (the best intent always taken)."""
    heldout_generic_oos_recall: float | None = None
    """Share of the generic out-of-scope examples rejected (held out by k-fold; None: not held out)."""
    generic_oos_examples: int = 0


@dataclass(frozen=True, slots=True)
class TrainingOptions:
    c: float = 1.0
    max_accuracy_loss: float = 0.0075
    """In-scope accuracy (a share of in-scope messages) that rejecting out-of-scope messages may cost on
    held-out data: the operating point is the most out-of-scope recall within this budget. A k-fold
    estimate is optimistic, so there the budget is divided by `training.KFOLD_OPTIMISM`."""
    target_oos_recall: float | None = None
    """Optional: stop rejecting once this share of the deployment's own held-out out-of-scope examples is
    rejected, even with budget left (it never spends more than the budget)."""
    generic_oos: bool = True
    """Learn and calibrate out of scope from the generic set (GENERIC_OOS) as well."""
    folds: int = 5
    refit_with_validation: bool = False
    """Train the final model on training + validation examples once the threshold is chosen."""
    encoder_weight: float = 2.0
    """Scale of the sentence-embedding block against the two l2-normalised TF-IDF blocks."""


# ---------------------------------------------------------------------------------------------------------
# Features


def prepare(text: str) -> str:
    return normalise(text).lower()


def term_features(prepared: str, language: Language | None = None) -> list[str]:
    """The word view of a message (in `language` when the caller has detected it already)."""
    return classification_terms(prepared, detect_language(prepared) if language is None else language)


_SPACES = re.compile(r"\s\s+")


def char_features(prepared: str, ngrams: tuple[int, int] = CHAR_NGRAMS) -> list[str]:
    """Character n-grams inside word boundaries, each word padded with a space: scikit-learn's `char_wb`
    analyzer, reproduced so that serving needs no scikit-learn (tests check both give the same n-grams)."""
    low, high = ngrams
    out: list[str] = []
    for word in _SPACES.sub(" ", prepared).split():
        padded = f" {word} "
        size = len(padded)
        for n in range(low, high + 1):
            if size <= n:  # a short word counts once, not once per n
                out.append(padded)
                break
            out += [padded[i : i + n] for i in range(size - n + 1)]
    return out


@dataclass(frozen=True, slots=True)
class FeatureBlock:
    """One TF-IDF block: its analyzer's name, vocabulary (term -> column) and idf weights."""

    analyzer: FeatureAnalyzer
    vocabulary: dict[str, int]
    idf: np.ndarray

    def analyze(self, prepared: str, language: Language | None = None) -> list[str]:
        if self.analyzer is FeatureAnalyzer.TERMS:
            return term_features(prepared, language)
        return char_features(prepared)


def softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    z = scores * temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    probs: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return probs


def _unit(value: float) -> float:
    return float(min(1.0, max(0.0, value)))


# ---------------------------------------------------------------------------------------------------------
# The classifier


@dataclass
class IntentClassifier:
    """Scores are the linear SVM's decision values over the concatenated, per-block l2-normalised
    sublinear TF-IDF vectors and, when there is an encoder, the scaled sentence embedding; `weights` is
    features x classes."""

    classes: list[str]
    blocks: list[FeatureBlock]
    weights: np.ndarray
    bias: np.ndarray
    calibration: Calibration
    encoder: StaticEncoder | None = None
    encoder_weight: float = 0.0
    trained_on: dict[str, int] = field(default_factory=dict)
    train_seconds: float = 0.0

    def __post_init__(self) -> None:
        """An intent's name travels in every `chat.analyzed`, which holds it to `MAX_INTENT_NAME_CHARS`:
        a model with a longer label is refused when it is trained or loaded, not turn by turn."""
        long = [name for name in self.classes if len(name) > MAX_INTENT_NAME_CHARS]
        if long:
            raise ValueError(f"intent names longer than {MAX_INTENT_NAME_CHARS} characters: {long[0][:40]}…")

    @property
    def intents(self) -> list[str]:
        return [c for c in self.classes if c != OUT_OF_SCOPE]

    def scores(self, prepared: str) -> np.ndarray:
        language = detect_language(prepared)
        columns, values, offset = [], [], 0
        for block in self.blocks:
            counts = Counter(map(block.vocabulary.get, block.analyze(prepared, language)))
            counts.pop(None, None)  # terms the model does not know
            if counts:
                cols = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
                tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
                tfidf = tf * block.idf[cols]
                columns.append(cols + offset)
                values.append(tfidf / np.linalg.norm(tfidf))
            offset += len(block.vocabulary)
        result: np.ndarray = self.bias.astype(np.float64)
        if columns:
            result = result + np.concatenate(values) @ self.weights[np.concatenate(columns)]
        if self.encoder is not None:
            embedding = self.encoder.embed(prepared, language) * self.encoder_weight
            result = result + embedding @ self.weights[offset : offset + self.encoder.dimensions]
        return result

    def score_many(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, len(self.classes)))
        return np.stack([self.scores(prepare(t)) for t in texts])

    def predict(self, text: str) -> Prediction:
        return self.predict_many([text])[0]

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        probs = softmax(self.score_many(texts), self.calibration.temperature)
        return [self._prediction(row) for row in probs]

    def confidences(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Per message: the best in-scope intent, its probability, and whether the out-of-scope class
        won outright. The benchmark uses this to show the threshold trade-off without re-scoring."""
        probs = softmax(self.score_many(texts), self.calibration.temperature)
        in_cols = np.array([i for i, c in enumerate(self.classes) if c != OUT_OF_SCOPE])
        best = in_cols[np.argmax(probs[:, in_cols], axis=1)]
        top_is_oos = np.array([self.classes[i] == OUT_OF_SCOPE for i in np.argmax(probs, axis=1)])
        return [self.classes[i] for i in best], probs[np.arange(len(texts)), best], top_is_oos

    def _prediction(self, probs: np.ndarray) -> Prediction:
        classes = self.classes
        order = np.argsort(-probs)
        in_scope = [i for i in order if classes[i] != OUT_OF_SCOPE]
        best = in_scope[0]
        scored = [
            IntentScore(name=classes[i], confidence=_unit(probs[i])) for i in in_scope[1 : 1 + ALTERNATIVES]
        ]
        if classes[order[0]] == OUT_OF_SCOPE or probs[best] < self.calibration.threshold:
            # The best guesses still travel as alternatives: dialogue may offer them as choices.
            alternatives = [IntentScore(name=classes[best], confidence=_unit(probs[best])), *scored]
            intent = Intent(name=OUT_OF_SCOPE, confidence=_unit(1.0 - probs[best]), alternatives=alternatives)
            return Prediction(intent=intent, out_of_scope=True)
        intent = Intent(name=classes[best], confidence=_unit(probs[best]), alternatives=scored)
        return Prediction(intent=intent, out_of_scope=False)

    def save(self, path: Path) -> None:
        """Arrays in an .npz file, everything else as JSON inside it; written through a temporary file."""
        meta = {
            "format": MODEL_FORMAT,
            "classes": self.classes,
            "blocks": [
                {"analyzer": b.analyzer, "terms": sorted(b.vocabulary, key=b.vocabulary.__getitem__)}
                for b in self.blocks
            ],
            "calibration": asdict(self.calibration),
            "encoder_weight": self.encoder_weight,
            "encoder_source": None if self.encoder is None else self.encoder.source,
            "encoder_terms": None
            if self.encoder is None
            else sorted(self.encoder.vocabulary, key=self.encoder.vocabulary.__getitem__),
            "trained_on": self.trained_on,
            "train_seconds": self.train_seconds,
        }
        arrays = {
            "meta": np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), dtype=np.uint8),
            "weights": self.weights,
            "bias": self.bias,
            **{f"idf_{i}": b.idf for i, b in enumerate(self.blocks)},
            **({} if self.encoder is None else {"encoder_table": self.encoder.table}),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        with partial.open("wb") as handle:
            cast(Any, np.savez_compressed)(handle, **arrays)
        partial.replace(path)

    @staticmethod
    def load(path: Path) -> IntentClassifier:
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(bytes(data["meta"]).decode())
                if meta.get("format") != MODEL_FORMAT:
                    raise ValueError(f"{path} is not an intent model of format {MODEL_FORMAT}")
                blocks = [
                    FeatureBlock(
                        FeatureAnalyzer(b["analyzer"]),
                        {t: i for i, t in enumerate(b["terms"])},
                        data[f"idf_{n}"],
                    )
                    for n, b in enumerate(meta["blocks"])
                ]
                encoder = None
                if meta.get("encoder_terms") is not None:
                    vocabulary = {t: i for i, t in enumerate(meta["encoder_terms"])}
                    encoder = StaticEncoder(vocabulary, data["encoder_table"], meta["encoder_source"])
                return IntentClassifier(
                    classes=meta["classes"],
                    blocks=blocks,
                    weights=data["weights"],
                    bias=data["bias"],
                    calibration=Calibration(
                        **{**meta["calibration"], "heldout": HeldOut(meta["calibration"]["heldout"])}
                    ),
                    encoder=encoder,
                    encoder_weight=float(meta["encoder_weight"]),
                    trained_on=meta["trained_on"],
                    train_seconds=meta["train_seconds"],
                )
        except (KeyError, OSError, EOFError, ValueError) as exc:
            raise ValueError(f"{path} is not an intent model of format {MODEL_FORMAT}") from exc


def describe(classifier: IntentClassifier) -> dict[str, Any]:
    """A summary for logs and the CLI: no example texts."""
    cal = classifier.calibration
    return {
        "intents": len(classifier.intents),
        "examples": sum(classifier.trained_on.values()),
        "threshold": round(cal.threshold, 4),
        "temperature": cal.temperature,
        "heldout": cal.heldout,
        "heldout_accuracy": round(cal.heldout_accuracy, 4),
        "heldout_oos_recall": _rounded(cal.heldout_oos_recall),
        "heldout_reference_accuracy": _rounded(cal.heldout_reference_accuracy),
        "heldout_generic_oos_recall": _rounded(cal.heldout_generic_oos_recall),
        "max_accuracy_loss": round(cal.max_accuracy_loss, 4),
        "oos_offset": cal.oos_offset,
        "generic_oos_examples": cal.generic_oos_examples,
        "train_seconds": round(classifier.train_seconds, 2),
        "encoder": None if classifier.encoder is None else classifier.encoder.source,
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
