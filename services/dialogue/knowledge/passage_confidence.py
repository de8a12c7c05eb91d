"""Calibrated confidence for passages: the probability that a passage answers the question, on the
same scale as the FAQ entries' confidence (confidence.py), so that the answer policy's thresholds
(answer, clarify, escalate) mean the same whichever kind of item is first.

The evidence is the share of the question's term weight the passage holds (as for FAQ entries), the
passage scorer's own scores (word coverage, character coverage and proximity, each in [0, 1] relative
to the terms the passages know, see `helpdesk.search.passage_index`), and the margin over the next
passage, weighed by coverage as for FAQ entries. The coefficients are a logistic regression fitted
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

    def features(self) -> tuple[float, float, float, float, float]:
        return (self.coverage, self.words, self.characters, self.proximity, self.coverage * self.margin)


@dataclass(frozen=True, slots=True)
class PassageCalibration:
    intercept: float = -7.0
    coverage: float = 5.0
    words: float = 2.0
    characters: float = 3.0
    proximity: float = 1.0
    margin: float = 2.0

    def confidence(self, evidence: PassageEvidence) -> float:
        coverage, words, characters, proximity, covered_margin = evidence.features()
        z = self.intercept + self.coverage * coverage + self.words * words + self.characters * characters
        z += self.proximity * proximity + self.margin * covered_margin
        return 1.0 / (1.0 + math.exp(-z))
