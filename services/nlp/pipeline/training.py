"""Training the intent model (scikit-learn); only the model cache (when a model has to be built) and
the intent benchmark import this.

Held-out data decides the softmax temperature and the out-of-scope threshold: the validation split when
there is one, otherwise out-of-fold predictions of a k-fold cross-validation over the training examples.
The threshold is the lowest one that rejects at least the target share of held-out out-of-scope examples
(so in-scope accuracy is given up only as far as needed); with no out-of-scope examples at all, it rejects
only the least confident few percent of the held-out predictions that were right.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence

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
    prepare,
    softmax,
    term_features,
)

_TEMPERATURES = (0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0)
_KEEP_CORRECT_WITHOUT_OOS = 0.97


class FittedModel:
    """The scikit-learn objects of one fit, and the serving form of the same weights."""

    def __init__(
        self,
        examples: Sequence[Example],
        c: float,
        encoder: StaticEncoder | None = None,
        encoder_weight: float = 0.0,
    ) -> None:
        if len({e.label for e in examples}) < 2:
            raise ValueError("need examples of at least two labels to train an intent model")
        self.encoder, self.encoder_weight = encoder, encoder_weight
        self.features = FeatureUnion(
            [
                (FeatureAnalyzer.TERMS.value, TfidfVectorizer(analyzer=term_features, sublinear_tf=True)),
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
) -> IntentClassifier:
    options = options or TrainingOptions()
    started = time.perf_counter()

    def fit(subset: Sequence[Example]) -> FittedModel:
        return FittedModel(subset, options.c, encoder, options.encoder_weight)

    if validation:
        model = fit(examples)
        uncalibrated = model.classifier(_UNCALIBRATED)
        scores = uncalibrated.score_many([e.text for e in validation])
        labels = [e.label for e in validation]
        calibration = _calibrate(scores, labels, model.classes, options.target_oos_recall, HeldOut.VALIDATION)
        if options.refit_with_validation:
            examples = [*examples, *validation]
            model = fit(examples)
    else:
        scores, labels, classes = _out_of_fold_scores(examples, options, fit)
        calibration = _calibrate(scores, labels, classes, options.target_oos_recall, HeldOut.K_FOLD)
        model = fit(examples)
    classifier = model.classifier(calibration)
    classifier.trained_on = dict(Counter(e.label for e in examples))
    classifier.train_seconds = time.perf_counter() - started
    return classifier


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


def _calibrate(
    scores: np.ndarray, labels: list[str], classes: list[str], target_oos_recall: float, how: HeldOut
) -> Calibration:
    index = {c: i for i, c in enumerate(classes)}
    known = np.array([index.get(lbl, -1) for lbl in labels])
    usable = known >= 0

    def nll(temperature: float) -> float:
        probs = softmax(scores[usable], temperature)[np.arange(int(usable.sum())), known[usable]]
        return -float(np.mean(np.log(probs + 1e-12)))

    temperature = min(_TEMPERATURES, key=nll)
    probs = softmax(scores, temperature)
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
