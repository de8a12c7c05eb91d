"""Calibrated confidence for passages: the probability that a passage answers the question, on the
same scale as the FAQ entries' confidence (confidence.py), so that the answer policy's thresholds
(answer, clarify, escalate) mean the same whichever kind of item is first.

The evidence is the share of the question's term weight the passage holds (as for FAQ entries), the
passage scorer's character coverage (in [0, 1] relative to the n-grams the passages know, see
`helpdesk.search.passage_index`), and the margin over the next passage, weighed by coverage as for FAQ
entries. The coefficients are a logistic regression fitted
by `bench/calibrate_passages.py` on tuning halves only (the IT-manual set's tuning queries, with
questions the manuals cannot answer, and JSQuAD's tuning articles with unanswerable questions made by
leaving a question's article out of the index); the held-out halves measure it (docs/benchmarks.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PassageEvidence:
    coverage: float
    """The share of the whole question's term weight (IDF) the passage holds; a term no passage has
    counts with the highest IDF (the scores themselves only weigh the terms the passages know, so they
    cannot tell a question the documents do not cover)."""
    words: float
    characters: float
    proximity: float
    margin: float
    """(score - the best other passage's score) / score; 0 for any passage but the first."""

    def features(self) -> tuple[float, float, float]:
        """Coverage, character coverage, and the margin weighed by coverage. Word coverage and
        proximity add nothing once these are known (cross-validated on the tuning halves, see
        docs/benchmarks.md), so they are kept for logs, not weighed."""
        return (self.coverage, self.characters, self.coverage * self.margin)


@dataclass(frozen=True, slots=True)
class PassageCalibration:
    intercept: float = -6.59
    coverage: float = 4.61
    characters: float = 8.71
    margin: float = 8.16

    def confidence(self, evidence: PassageEvidence) -> float:
        coverage, characters, covered_margin = evidence.features()
        z = self.intercept + self.coverage * coverage + self.characters * characters
        z += self.margin * covered_margin
        return 1.0 / (1.0 + math.exp(-z))
