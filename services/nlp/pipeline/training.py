"""Training the intent model (scikit-learn); only the model cache (when a model has to be built) and
the intent benchmark import this.

The `out_of_scope` class learns from the deployment's own out-of-scope examples and from the generic set
shipped with the service (`intents.GENERIC_OOS`), so that a deployment without out-of-scope examples still
gets a model that knows what out of scope looks like. A generic example that repeats one of the
deployment's own examples or validation examples (after normalisation, whatever their label) is left out:
an own example always wins, and a validation split stays held out.

Held-out data decides the softmax temperature and the operating point: the validation split when there is
one, otherwise out-of-fold predictions of a k-fold cross-validation over the training examples (generic
ones included, so they are held out in turn). The operating point is a stated trade-off rather than a fixed
rule: the most out-of-scope recall that costs at most `max_accuracy_loss` of held-out in-scope accuracy,
measured against taking the best intent for every in-scope message. Two knobs are chosen together: an
offset taken off the out-of-scope class's score (with few examples per intent, hundreds of generic ones
make that class win too often, and the offset is what keeps it within the budget) and the probability
threshold, the highest one within the budget at that offset. The offset kept is the one whose operating
point rejects the most held-out out-of-scope examples, the deployment's own and the generic ones counted
with equal weight (so a few dozen own examples are not drowned by the generic set). Held-out recall on
the generic set compares operating points but overstates real recall by far, which is why an optional
recall target applies to the deployment's own examples only.

k-fold estimates are optimistic: held-out examples are paraphrases of the rest, more confident than real
messages, so a k-fold budget is divided by KFOLD_OPTIMISM. The measurements behind these choices are in
docs/benchmarks.md, "Intent classification".
"""

from __future__ import annotations

import functools
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

from helpdesk.events import OUT_OF_SCOPE
from helpdesk.text import detect_language
from services.nlp.pipeline.encoder import StaticEncoder
from services.nlp.pipeline.intents import (
    CHAR_NGRAMS,
    Calibration,
    Example,
    FeatureAnalyzer,
    FeatureBlock,
    HeldOut,
    IntentClassifier,
    TrainingOptions,
    load_generic_oos,
    prepare,
    softmax,
    term_features,
)

_TEMPERATURES = (0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0)
KFOLD_OPTIMISM = 1.5
"""Points of accuracy lost on a separate validation split per point lost out of fold (CLINC150)."""
_CLASS_OFF = 1000.0
"""An offset so large that the out-of-scope class never wins (only the threshold rejects)."""
_OOS_OFFSETS = (*(round(0.05 * i, 2) for i in range(61)), _CLASS_OFF)
"""Offsets (decision-value units) tried on the out-of-scope class's score."""


class FittedModel:
    """The scikit-learn objects of one fit, and the serving form of the same weights."""

    def __init__(
        self,
        examples: Sequence[Example],
        c: float,
        encoder: StaticEncoder | None = None,
        encoder_weight: float = 0.0,
        terms: Callable[[str], list[str]] = term_features,
    ) -> None:
        """`terms`: the word view of a prepared message, `term_features` or a memo of it (training fits
        the same messages once per fold)."""
        if len({e.label for e in examples}) < 2:
            raise ValueError("need examples of at least two labels to train an intent model")
        self.encoder, self.encoder_weight = encoder, encoder_weight
        self.features = FeatureUnion(
            [
                (FeatureAnalyzer.TERMS.value, TfidfVectorizer(analyzer=terms, sublinear_tf=True)),
                (
                    FeatureAnalyzer.CHARS.value,
                    TfidfVectorizer(analyzer="char_wb", ngram_range=CHAR_NGRAMS, sublinear_tf=True, min_df=2),
                ),
            ]
        )
        prepared = [prepare(e.text) for e in examples]
        matrix = self._with_embeddings(self.features.fit_transform(prepared), prepared)
        self.svm = LinearSVC(C=c).fit(matrix, [e.label for e in examples])
        self.classes: list[str] = [str(label) for label in self.svm.classes_]

    def _with_embeddings(self, tfidf: sp.spmatrix, prepared: Sequence[str]) -> sp.csr_matrix:
        if self.encoder is None:
            return sp.csr_matrix(tfidf)
        encoder = self.encoder
        dense = np.stack([encoder.embed(t, detect_language(t)) for t in prepared]) * self.encoder_weight
        return sp.csr_matrix(sp.hstack([tfidf, sp.csr_matrix(dense)]))

    def classifier(self, calibration: Calibration) -> IntentClassifier:
        """The serving form; the calibration's out-of-scope offset goes into that class's bias, so serving
        code knows nothing of it."""
        blocks = [
            FeatureBlock(
                FeatureAnalyzer(name),
                {str(t): int(i) for t, i in vectorizer.vocabulary_.items()},
                vectorizer.idf_,
            )
            for name, vectorizer in self.features.transformer_list
        ]
        coef = np.asarray(self.svm.coef_, dtype=np.float64)
        bias = np.asarray(self.svm.intercept_, dtype=np.float64)
        if coef.shape[0] == 1:  # two classes: one weight vector, positive for the second class
            coef, bias = np.vstack([-coef, coef]), np.concatenate([-bias, bias])
        if calibration.oos_offset and OUT_OF_SCOPE in self.classes:
            bias = bias.copy()
            bias[self.classes.index(OUT_OF_SCOPE)] -= calibration.oos_offset
        return IntentClassifier(
            classes=self.classes,
            blocks=blocks,
            weights=np.ascontiguousarray(coef.T, dtype=np.float32),
            bias=bias.astype(np.float32),
            calibration=calibration,
            encoder=self.encoder,
            encoder_weight=self.encoder_weight if self.encoder is not None else 0.0,
        )

    def reference_scores(self, prepared: Sequence[str]) -> np.ndarray:
        """Decision values through scikit-learn's own transform (tests compare the serving scores)."""
        matrix = self._with_embeddings(self.features.transform(prepared), prepared)
        values: np.ndarray = np.asarray(self.svm.decision_function(matrix))
        return np.stack([-values, values], axis=1) if values.ndim == 1 else values


def train(
    examples: Sequence[Example],
    validation: Sequence[Example] | None = None,
    options: TrainingOptions | None = None,
    encoder: StaticEncoder | None = None,
    generic: Sequence[Example] | None = None,
) -> IntentClassifier:
    """`generic`: generic out-of-scope examples (default: the shipped set when `options.generic_oos`)."""
    options = options or TrainingOptions()
    started = time.perf_counter()
    if generic is None:
        generic = load_generic_oos() if options.generic_oos else []
    generic = new_generic_examples(generic, [*examples, *(validation or [])])
    examples = [*examples, *generic]

    terms = functools.cache(term_features)

    def fit(subset: Sequence[Example]) -> FittedModel:
        return FittedModel(subset, options.c, encoder, options.encoder_weight, terms)

    if validation:
        model = fit(examples)
        scores = model.classifier(_UNCALIBRATED).score_many([e.text for e in validation])
        held = HeldOutScores.of(scores, [e.label for e in validation], model.classes)
        calibration = calibrate(held, options, HeldOut.VALIDATION, len(generic))
        if options.refit_with_validation:
            examples = [*examples, *validation]
            model = fit(examples)
    else:
        scores, labels, classes = _out_of_fold_scores(examples, options, fit)
        generic_rows = np.arange(len(examples)) >= len(examples) - len(generic)
        held = HeldOutScores.of(scores, labels, classes, generic_rows)
        calibration = calibrate(held, options, HeldOut.K_FOLD, len(generic))
        model = fit(examples)
    classifier = model.classifier(calibration)
    classifier.trained_on = dict(Counter(e.label for e in examples))
    classifier.train_seconds = time.perf_counter() - started
    return classifier


def new_generic_examples(generic: Sequence[Example], own: Sequence[Example]) -> list[Example]:
    """The generic out-of-scope examples that repeat none of the deployment's own examples (whatever their
    label: an intent example wins over a generic one) nor each other, after normalisation."""
    seen = {prepare(e.text) for e in own}
    kept = []
    for example in generic:
        key = prepare(example.text)
        if key not in seen:
            seen.add(key)
            kept.append(Example(example.text, OUT_OF_SCOPE))
    return kept


_UNCALIBRATED = Calibration(1.0, 0.0, 0.0, HeldOut.NONE, 0.0, None)


def _out_of_fold_scores(
    examples: Sequence[Example], options: TrainingOptions, fit: Callable[[Sequence[Example]], FittedModel]
) -> tuple[np.ndarray, list[str], list[str]]:
    labels = [e.label for e in examples]
    classes = sorted(set(labels))
    folds = max(2, min(options.folds, min(Counter(labels).values())))
    scores = np.full((len(examples), len(classes)), -10.0)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for fit_idx, held_idx in splitter.split(np.zeros(len(labels)), labels):
        model = fit([examples[i] for i in fit_idx])
        fold_scores = model.classifier(_UNCALIBRATED).score_many([examples[i].text for i in held_idx])
        columns = [classes.index(c) for c in model.classes]
        scores[np.ix_(held_idx, columns)] = fold_scores
    return scores, labels, classes


@dataclass(frozen=True, slots=True)
class HeldOutScores:
    """Uncalibrated scores of held-out messages (rows) per class (columns), and what each message is."""

    scores: np.ndarray
    known: np.ndarray
    """Column of each message's label (-1: a label the model has no class for)."""
    in_scope: np.ndarray
    own_oos: np.ndarray
    """The deployment's own out-of-scope examples."""
    generic_oos: np.ndarray
    oos_column: int | None
    intent_columns: np.ndarray

    @staticmethod
    def of(
        scores: np.ndarray, labels: Sequence[str], classes: Sequence[str], generic: np.ndarray | None = None
    ) -> HeldOutScores:
        index = {c: i for i, c in enumerate(classes)}
        is_oos = np.array([label == OUT_OF_SCOPE for label in labels], dtype=bool)
        is_generic = np.zeros(len(labels), bool) if generic is None else generic
        return HeldOutScores(
            scores=scores,
            known=np.array([index.get(label, -1) for label in labels], dtype=np.int64),
            in_scope=~is_oos,
            own_oos=is_oos & ~is_generic,
            generic_oos=is_oos & is_generic,
            oos_column=index.get(OUT_OF_SCOPE),
            intent_columns=np.array([i for i, c in enumerate(classes) if c != OUT_OF_SCOPE]),
        )

    @property
    def offsets(self) -> tuple[float, ...]:
        """The out-of-scope offsets worth trying: all of them when held-out out-of-scope examples can
        tell them apart, otherwise only whether the class may speak at all."""
        if self.oos_column is None:
            return (0.0,)
        if not (self.own_oos | self.generic_oos).any():
            return (0.0, _CLASS_OFF)
        return _OOS_OFFSETS

    def temperature(self) -> float:
        """The softmax temperature of least negative log-likelihood of the messages' own labels."""
        usable = self.known >= 0
        rows = np.arange(int(usable.sum()))

        def nll(temperature: float) -> float:
            probs = softmax(self.scores[usable], temperature)[rows, self.known[usable]]
            return -float(np.mean(np.log(probs + 1e-12)))

        return min(_TEMPERATURES, key=nll)


@dataclass(frozen=True, slots=True)
class OperatingPoint:
    """One offset's operating point on the held-out data."""

    offset: float
    threshold: float
    reference_accuracy: float
    """In-scope accuracy with no rejection."""
    accuracy: float
    own_recall: float | None
    generic_recall: float | None

    @property
    def recall(self) -> float:
        """Own and generic held-out recall weighted equally (0 without held-out out-of-scope examples)."""
        parts = [r for r in (self.own_recall, self.generic_recall) if r is not None]
        return sum(parts) / len(parts) if parts else 0.0


def operating_point(
    held: HeldOutScores, temperature: float, offset: float, budget: float, target: float | None = None
) -> OperatingPoint | None:
    """At this offset, the highest threshold whose held-out in-scope accuracy is within `budget` of the
    accuracy with no rejection (stopping at `target` recall of the own out-of-scope examples, when set);
    None when the out-of-scope class alone already costs more than the budget."""
    scores = held.scores
    if held.oos_column is not None and offset:
        scores = scores.copy()
        scores[:, held.oos_column] -= offset
    probs = softmax(scores, temperature)
    rows = np.arange(len(probs))
    best = held.intent_columns[np.argmax(probs[:, held.intent_columns], axis=1)]
    best_p = probs[rows, best]
    class_rejects = np.zeros(len(probs), bool)
    if held.oos_column is not None:
        class_rejects = np.argmax(probs, axis=1) == held.oos_column
    right = held.in_scope & (best == held.known)
    n_in = max(1, int(held.in_scope.sum()))
    reference = float(right.sum()) / n_in
    kept = np.sort(best_p[right & ~class_rejects])
    may_lose = len(kept) - int(np.ceil((reference - budget) * n_in - 1e-9))
    if may_lose < 0:
        return None
    threshold = float(kept[may_lose]) if may_lose < len(kept) else 1.0
    if target is not None and held.own_oos.any():
        own = np.sort(np.where(class_rejects, -np.inf, best_p)[held.own_oos])
        needed = own[int(np.ceil(target * len(own))) - 1]
        threshold = min(threshold, float(np.nextafter(needed, np.inf)) if np.isfinite(needed) else 0.0)
    rejected = class_rejects | (best_p < threshold)
    return OperatingPoint(
        offset=offset,
        threshold=threshold,
        reference_accuracy=reference,
        accuracy=float((right & ~rejected).sum()) / n_in,
        own_recall=float(np.mean(rejected[held.own_oos])) if held.own_oos.any() else None,
        generic_recall=float(np.mean(rejected[held.generic_oos])) if held.generic_oos.any() else None,
    )


def calibrate(
    held: HeldOutScores, options: TrainingOptions, how: HeldOut, generic_examples: int = 0
) -> Calibration:
    """The operating point of the most held-out out-of-scope recall over the offsets worth trying (the
    smallest offset among equals), within the budget."""
    temperature = held.temperature()
    budget = options.max_accuracy_loss / (KFOLD_OPTIMISM if how is HeldOut.K_FOLD else 1.0)
    feasible = [
        point
        for offset in held.offsets
        if (point := operating_point(held, temperature, offset, budget, options.target_oos_recall))
        is not None
    ]
    best = max(feasible, key=lambda point: point.recall)  # never empty: with the class off, nothing is lost
    return Calibration(
        temperature=temperature,
        threshold=best.threshold,
        target_oos_recall=options.target_oos_recall or 0.0,
        heldout=how,
        heldout_accuracy=best.accuracy,
        heldout_oos_recall=best.own_recall,
        oos_offset=best.offset,
        max_accuracy_loss=budget,
        heldout_reference_accuracy=best.reference_accuracy,
        heldout_generic_oos_recall=best.generic_recall,
        generic_oos_examples=generic_examples,
    )
