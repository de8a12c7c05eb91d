"""`make nlu-bench`: the nlp service's intent pipeline measured on a test file.

Metrics follow Larson et al. (2019), so CLINC150 results compare with the published table: in-scope
accuracy counts an in-scope message as right only when its intent is right and it was not rejected;
out-of-scope recall is the share of out-of-scope messages rejected. The in-scope accuracy with no
rejection at all (the best intent always taken) is reported beside it: what the rejection costs is the
difference. Latency is one message at a time through `IntentClassifier.predict`, as the service calls it.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import f1_score

from helpdesk.events import OUT_OF_SCOPE
from services.nlp.public import Example, IntentClassifier

TRADEOFF_TARGETS = (0.0, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.9)
"""0.0 shows the operating point without a threshold (only the out_of_scope class rejects)."""


@dataclass(frozen=True, slots=True)
class Scores:
    in_scope_accuracy: float
    oos_recall: float | None
    oos_precision: float | None
    macro_f1: float


def score(gold: Sequence[str], predicted: Sequence[str]) -> Scores:
    g, p = np.array(gold), np.array(predicted)
    oos, said_oos = g == OUT_OF_SCOPE, p == OUT_OF_SCOPE
    return Scores(
        in_scope_accuracy=float(np.mean(g[~oos] == p[~oos])) if (~oos).any() else 0.0,
        oos_recall=float(np.mean(said_oos[oos])) if oos.any() else None,
        oos_precision=float(np.mean(oos[said_oos])) if said_oos.any() else None,
        macro_f1=float(f1_score(g, p, labels=sorted(set(gold)), average="macro", zero_division=0)),
    )


def latencies_ms(classifier: IntentClassifier, texts: Sequence[str]) -> tuple[float, float]:
    classifier.predict(texts[0])
    samples = []
    for text in texts:
        started = time.perf_counter()
        classifier.predict(text)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def tradeoff(classifier: IntentClassifier, test: Sequence[Example]) -> list[dict[str, float]]:
    """Accuracy against out-of-scope recall for other thresholds, on the test data itself: an oracle view
    of the trade-off, not a tuned result (the reported numbers use the threshold from held-out data)."""
    best, prob, top_is_oos = classifier.confidences([e.text for e in test])
    gold = np.array([e.label for e in test])
    oos = gold == OUT_OF_SCOPE
    if not oos.any() or oos.all():
        return []
    rows: list[dict[str, float]] = []
    for threshold in np.unique(np.concatenate([[0.0], prob])):
        rejected = top_is_oos | (prob < threshold)
        recall = float(np.mean(rejected[oos]))
        if rows and recall <= rows[-1]["oos_recall"]:
            continue
        accuracy = float(np.mean((np.array(best)[~oos] == gold[~oos]) & ~rejected[~oos]))
        rows.append({"threshold": float(threshold), "in_scope_accuracy": accuracy, "oos_recall": recall})
    picked = []
    for target in TRADEOFF_TARGETS:
        row = next((r for r in rows if r["oos_recall"] >= target), None)
        if row is not None:
            picked.append({k: round(v, 4) for k, v in row.items()})
    return picked


def accuracy_without_rejection(classifier: IntentClassifier, test: Sequence[Example]) -> float | None:
    """In-scope accuracy when the best intent is always taken (no threshold, no out-of-scope class): the
    baseline the rejection's cost is measured against. None without in-scope messages."""
    in_scope = [e for e in test if e.label != OUT_OF_SCOPE]
    if not in_scope:
        return None
    best, _, _ = classifier.confidences([e.text for e in in_scope])
    return sum(b == e.label for b, e in zip(best, in_scope, strict=True)) / len(in_scope)


def run(
    classifier: IntentClassifier, test: Sequence[Example], *, latency_sample: int | None = None
) -> dict[str, Any]:
    predictions = classifier.predict_many([e.text for e in test])
    scores = score([e.label for e in test], [p.intent.name for p in predictions])
    texts = [e.text for e in test][:latency_sample]
    p50, p99 = latencies_ms(classifier, texts)
    cal = classifier.calibration
    return {
        "in_scope_accuracy": round(scores.in_scope_accuracy, 4),
        "in_scope_accuracy_no_rejection": _rounded(accuracy_without_rejection(classifier, test)),
        "oos_recall": _rounded(scores.oos_recall),
        "oos_precision": _rounded(scores.oos_precision),
        "macro_f1": round(scores.macro_f1, 4),
        "train_seconds": round(classifier.train_seconds, 2),
        "p50_ms": round(p50, 3),
        "p99_ms": round(p99, 3),
        "threshold": round(cal.threshold, 4),
        "oos_offset": cal.oos_offset,
        "max_accuracy_loss": round(cal.max_accuracy_loss, 4),
        "heldout": cal.heldout,
        "heldout_accuracy": round(cal.heldout_accuracy, 4),
        "heldout_reference_accuracy": _rounded(cal.heldout_reference_accuracy),
        "heldout_oos_recall": _rounded(cal.heldout_oos_recall),
        "heldout_generic_oos_recall": _rounded(cal.heldout_generic_oos_recall),
        "generic_oos_examples": cal.generic_oos_examples,
        "encoder": None if classifier.encoder is None else classifier.encoder.source,
        "train_examples": sum(classifier.trained_on.values()),
        "test_examples": len(test),
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
