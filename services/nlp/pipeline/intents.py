"""Intent classification with an explicit "out of scope" answer, the same code for the service and for
`make nlu-bench`.

The model: TF-IDF over stems/lemmas (unigrams and bigrams, stop words kept) and over character 2–5-grams
within word boundaries (which also covers Japanese compounds the analyser splits differently), sublinear
term frequency, one linear SVM over all intents plus an `out_of_scope` class learnt from out-of-scope
examples. Scores become probabilities through a softmax whose temperature is fitted on held-out data; a
message is out of scope when the out-of-scope class wins or the best intent's probability is below a
threshold chosen on the same held-out data (the lowest one that reaches the target out-of-scope recall).
Held-out data is the validation split when there is one, otherwise out-of-fold predictions of a k-fold
cross-validation over the training examples.

Why this and not a sentence-embedding model: it classifies a message in well under a millisecond, trains
in seconds, needs no model weights beyond what it learns here, and keeps the service small; see
docs/benchmarks.md for the measurements, including the embedding model that was measured and rejected.
"""

from __future__ import annotations

import csv
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

from helpdesk.events import OUT_OF_SCOPE, Intent, IntentScore
from services.nlp.pipeline.language import detect_language
from services.nlp.pipeline.normalise import normalise
from services.nlp.pipeline.tokenise import classification_terms

MODEL_FORMAT = 1
"""Bumped when the features or the model change shape, so cached models are retrained."""
OOS_LABELS = frozenset({"oos", "out_of_scope", OUT_OF_SCOPE})
ALTERNATIVES = 3
_TEMPERATURES = (0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0)
_KEEP_CORRECT_WITHOUT_OOS = 0.97


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    label: str
    """An intent name, or `out_of_scope` (files may say `oos`)."""


@dataclass(frozen=True, slots=True)
class Prediction:
    intent: Intent
    out_of_scope: bool


@dataclass(frozen=True, slots=True)
class Calibration:
    """What the held-out data decided: softmax temperature and the out-of-scope threshold."""

    temperature: float
    threshold: float
    target_oos_recall: float
    heldout: str
    """"validation" or "k-fold"."""
    heldout_accuracy: float
    heldout_oos_recall: float | None


@dataclass(frozen=True, slots=True)
class TrainingOptions:
    c: float = 1.0
    target_oos_recall: float = 0.7
    folds: int = 5
    refit_with_validation: bool = False
    """Train the final model on training + validation examples once the threshold is chosen."""


def label_of(raw: str) -> str:
    label = raw.strip()
    return OUT_OF_SCOPE if label.lower() in OOS_LABELS else label


# ---------------------------------------------------------------------------------------------------------
# Example files


def load_examples(path: Path) -> list[Example]:
    """Examples from a CSV with header `text,label`, a helpdesk YAML file (intent -> language -> texts),
    or the CLINC150 JSON (its `train` and `oos_train` splits)."""
    return load_splits(path)[0]


def load_splits(path: Path) -> tuple[list[Example], list[Example] | None, list[Example] | None]:
    """(train, validation, test); the last two only where the file has them (CLINC150 JSON)."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))

        def split(*keys: str) -> list[Example]:
            return [Example(str(t), label_of(str(lbl))) for k in keys for t, lbl in data.get(k, [])]

        return split("train", "oos_train"), split("val", "oos_val") or None, split("test", "oos_test") or None
    if suffix in {".yaml", ".yml"}:
        return _yaml_examples(path), None, None
    if suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or not {"text", "label"} <= set(reader.fieldnames):
                raise ValueError(f"{path}: expected a CSV header with the columns text,label")
            return [Example(row["text"], label_of(row["label"])) for row in reader if row["text"]], None, None
    raise ValueError(f"{path}: expected .csv, .yaml or .json")


def _yaml_examples(path: Path) -> list[Example]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    examples = []
    for intent, by_language in data.items():
        texts: Iterable[Any] = (
            (t for group in by_language.values() for t in group)
            if isinstance(by_language, dict)
            else by_language
        )
        examples += [Example(str(t), label_of(str(intent))) for t in texts]
    return examples


def load_directory(directory: Path) -> list[Example]:
    """All example files of a directory (the helpdesk's own intents), in name order."""
    files = sorted(p for p in directory.iterdir() if p.suffix.lower() in {".yaml", ".yml", ".csv"})
    if not files:
        raise FileNotFoundError(f"no intent example files in {directory}")
    return [e for f in files for e in load_examples(f)]


# ---------------------------------------------------------------------------------------------------------
# Features


def prepare(text: str) -> str:
    return normalise(text).lower()


def term_features(prepared: str) -> list[str]:
    """The word view of a message; module-level so that the trained model pickles."""
    return classification_terms(prepared, detect_language(prepared))


def _features() -> FeatureUnion:
    return FeatureUnion(
        [
            ("terms", TfidfVectorizer(analyzer=term_features, sublinear_tf=True)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)),
        ]
    )


def _softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    z = scores * temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    probs: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return probs


class _Model:
    """Features + SVM; scores are the SVM's decision values, one column per class."""

    def __init__(self, examples: Sequence[Example], c: float) -> None:
        labels = sorted({e.label for e in examples})
        if len(labels) < 2:
            raise ValueError("need examples of at least two labels to train an intent model")
        self.features = _features()
        matrix = self.features.fit_transform([prepare(e.text) for e in examples])
        self.svm = LinearSVC(C=c).fit(matrix, [e.label for e in examples])
        self.classes: list[str] = [str(c) for c in self.svm.classes_]
        self._scorer: _Scorer | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_scorer": None}

    def scores(self, prepared: Sequence[str]) -> np.ndarray:
        if self._scorer is None:
            self._scorer = _Scorer(self.features, self.svm)
        return np.stack([self._scorer.scores(text) for text in prepared]) if prepared else np.zeros((0, 0))

    def reference_scores(self, prepared: Sequence[str]) -> np.ndarray:
        """The same scores through scikit-learn's own transform (tests check both agree)."""
        values: np.ndarray = np.asarray(self.svm.decision_function(self.features.transform(prepared)))
        return np.stack([-values, values], axis=1) if values.ndim == 1 else values


class _Scorer:
    """One message's scores without scikit-learn's per-call input validation, which costs ten times
    the arithmetic on a single short message: the same TF-IDF (sublinear tf, idf, l2 per block) and the
    same linear decision values, computed from the fitted vocabularies and weights."""

    def __init__(self, features: FeatureUnion, svm: LinearSVC) -> None:
        self.blocks: list[tuple[Callable[[str], list[str]], dict[str, int], np.ndarray, int]] = []
        offset = 0
        for _, vectorizer in features.transformer_list:
            vocabulary: dict[str, int] = vectorizer.vocabulary_
            self.blocks.append((vectorizer.build_analyzer(), vocabulary, vectorizer.idf_, offset))
            offset += len(vocabulary)
        coef = np.asarray(svm.coef_, dtype=np.float64)
        bias = np.asarray(svm.intercept_, dtype=np.float64)
        if coef.shape[0] == 1:  # two classes: one weight vector for the second class
            coef, bias = np.vstack([-coef, coef]), np.concatenate([-bias, bias])
        self.weights = np.ascontiguousarray(coef.T)
        self.bias = bias

    def scores(self, prepared: str) -> np.ndarray:
        columns, values = [], []
        for analyze, vocabulary, idf, offset in self.blocks:
            counts = Counter(j for token in analyze(prepared) if (j := vocabulary.get(token)) is not None)
            if not counts:
                continue
            cols = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tfidf = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))) * idf[
                cols
            ]
            columns.append(cols + offset)
            values.append(tfidf / np.linalg.norm(tfidf))
        if not columns:
            return self.bias.copy()
        result: np.ndarray = np.concatenate(values) @ self.weights[np.concatenate(columns)] + self.bias
        return result


# ---------------------------------------------------------------------------------------------------------
# The classifier


@dataclass
class IntentClassifier:
    model: _Model
    calibration: Calibration
    trained_on: dict[str, int] = field(default_factory=dict)
    train_seconds: float = 0.0
    format: int = MODEL_FORMAT

    @property
    def intents(self) -> list[str]:
        return [c for c in self.model.classes if c != OUT_OF_SCOPE]

    @classmethod
    def train(
        cls,
        examples: Sequence[Example],
        validation: Sequence[Example] | None = None,
        options: TrainingOptions | None = None,
    ) -> IntentClassifier:
        options = options or TrainingOptions()
        started = time.perf_counter()
        if validation:
            model = _Model(examples, options.c)
            heldout_scores, heldout_labels = (
                model.scores([prepare(e.text) for e in validation]),
                [e.label for e in validation],
            )
            classes, how = model.classes, "validation"
        else:
            heldout_scores, heldout_labels, classes = _out_of_fold_scores(examples, options)
            how = "k-fold"
        calibration = _calibrate(heldout_scores, heldout_labels, classes, options.target_oos_recall, how)
        if not validation:
            model = _Model(examples, options.c)
        elif options.refit_with_validation:
            model = _Model([*examples, *validation], options.c)
        used = [*examples, *validation] if validation and options.refit_with_validation else examples
        return cls(
            model=model,
            calibration=calibration,
            trained_on=dict(Counter(e.label for e in used)),
            train_seconds=time.perf_counter() - started,
        )

    def predict(self, text: str) -> Prediction:
        return self.predict_many([text])[0]

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        probs = _softmax(self.model.scores([prepare(t) for t in texts]), self.calibration.temperature)
        return [self._prediction(row) for row in probs]

    def confidences(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Per message: the best in-scope intent, its probability, and whether the out-of-scope class
        won outright. The benchmark uses this to show the threshold trade-off without re-scoring."""
        probs = _softmax(self.model.scores([prepare(t) for t in texts]), self.calibration.temperature)
        classes = self.model.classes
        in_cols = np.array([i for i, c in enumerate(classes) if c != OUT_OF_SCOPE])
        best = in_cols[np.argmax(probs[:, in_cols], axis=1)]
        top_is_oos = np.array([classes[i] == OUT_OF_SCOPE for i in np.argmax(probs, axis=1)])
        return [classes[i] for i in best], probs[np.arange(len(texts)), best], top_is_oos

    def _prediction(self, probs: np.ndarray) -> Prediction:
        classes = self.model.classes
        order = np.argsort(-probs)
        in_scope = [i for i in order if classes[i] != OUT_OF_SCOPE]
        best = in_scope[0]
        scored = [
            IntentScore(name=classes[i], confidence=_unit(probs[i])) for i in in_scope[1 : 1 + ALTERNATIVES]
        ]
        oos = classes[order[0]] == OUT_OF_SCOPE or probs[best] < self.calibration.threshold
        if oos:
            # The best guesses still travel as alternatives: dialogue may offer them as choices.
            alternatives = [IntentScore(name=classes[best], confidence=_unit(probs[best])), *scored]
            intent = Intent(name=OUT_OF_SCOPE, confidence=_unit(1.0 - probs[best]), alternatives=alternatives)
            return Prediction(intent=intent, out_of_scope=True)
        intent = Intent(name=classes[best], confidence=_unit(probs[best]), alternatives=scored)
        return Prediction(intent=intent, out_of_scope=False)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(path.suffix + ".partial")
        joblib.dump(self, partial, compress=3)
        partial.replace(path)

    @staticmethod
    def load(path: Path) -> IntentClassifier:
        loaded = joblib.load(path)  # a file this service wrote itself, in its own cache directory
        if not isinstance(loaded, IntentClassifier) or loaded.format != MODEL_FORMAT:
            raise ValueError(f"{path} is not an intent model of format {MODEL_FORMAT}")
        return loaded


def _unit(value: float) -> float:
    return float(min(1.0, max(0.0, value)))


def _out_of_fold_scores(
    examples: Sequence[Example], options: TrainingOptions
) -> tuple[np.ndarray, list[str], list[str]]:
    labels = [e.label for e in examples]
    classes = sorted(set(labels))
    smallest = min(Counter(labels).values())
    folds = max(2, min(options.folds, smallest))
    scores = np.full((len(examples), len(classes)), -10.0)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for fit_idx, held_idx in splitter.split(np.zeros(len(labels)), labels):
        model = _Model([examples[i] for i in fit_idx], options.c)
        fold_scores = model.scores([prepare(examples[i].text) for i in held_idx])
        columns = [classes.index(c) for c in model.classes]
        scores[np.ix_(held_idx, columns)] = fold_scores
    return scores, labels, classes


def _calibrate(
    scores: np.ndarray, labels: list[str], classes: list[str], target_oos_recall: float, how: str
) -> Calibration:
    index = {c: i for i, c in enumerate(classes)}
    known = np.array([index.get(lbl, -1) for lbl in labels])
    usable = known >= 0
    temperature = min(
        _TEMPERATURES,
        key=lambda t: (
            -float(
                np.mean(np.log(_softmax(scores[usable], t)[np.arange(usable.sum()), known[usable]] + 1e-12))
            )
        ),
    )
    probs = _softmax(scores, temperature)
    oos_col = index.get(OUT_OF_SCOPE)
    in_cols = np.array([i for i, c in enumerate(classes) if c != OUT_OF_SCOPE])
    best_in = in_cols[np.argmax(probs[:, in_cols], axis=1)]
    best_p = probs[np.arange(len(labels)), best_in]
    top_is_oos = np.zeros(len(labels), bool) if oos_col is None else np.argmax(probs, axis=1) == oos_col
    is_oos = np.array([lbl == OUT_OF_SCOPE for lbl in labels])
    correct = (best_in == known) & ~is_oos

    def outcome(threshold: float) -> tuple[float, float | None]:
        rejected = top_is_oos | (best_p < threshold)
        accuracy = float(np.mean(correct[~is_oos] & ~rejected[~is_oos])) if (~is_oos).any() else 0.0
        recall = float(np.mean(rejected[is_oos])) if is_oos.any() else None
        return accuracy, recall

    candidates = np.unique(np.concatenate([[0.0], best_p]))
    if is_oos.any():
        reaching = (float(t) for t in candidates if (outcome(float(t))[1] or 0.0) >= target_oos_recall)
        threshold = next(reaching, None)
        if threshold is None:  # out of reach: the best balance of accuracy and recall instead
            threshold = float(max(candidates, key=lambda t: sum(v or 0.0 for v in outcome(float(t)))))
    else:
        # Nothing out of scope to learn from: reject only the least confident few percent of the right ones.
        right = np.sort(best_p[correct])
        threshold = float(right[int(len(right) * (1 - _KEEP_CORRECT_WITHOUT_OOS))]) if len(right) else 0.0
    accuracy, recall = outcome(threshold)
    return Calibration(
        temperature=temperature,
        threshold=threshold,
        target_oos_recall=target_oos_recall,
        heldout=how,
        heldout_accuracy=accuracy,
        heldout_oos_recall=recall,
    )


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
        "heldout_oos_recall": None if cal.heldout_oos_recall is None else round(cal.heldout_oos_recall, 4),
        "train_seconds": round(classifier.train_seconds, 2),
    }
