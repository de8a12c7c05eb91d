"""Calibrated confidence: the probability that the first hit answers the question.

Raw BM25 scores grow with the length of the question and the size of the knowledge base, so they
cannot be compared with a fixed threshold. The confidence is a logistic function of evidence that can:
how much of the question's term weight the entry contains (coverage), how close the closest phrasing
is character by character (similarity), and how far ahead of the best entry about another question
it is (margin, weighed by coverage). The coefficients are fitted by `bench/calibrate.py` on the
bilingual evaluation set of the default knowledge base, whose questions include ones the knowledge
base cannot answer.

The nlp intent is applied afterwards as a bounded nudge, not fitted: it may be missing or wrong.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MatchEvidence:
    coverage: float
    similarity: float
    margin: float
    intent_agrees: bool | None = None
    """Whether the first hit lists the turn's intent (False too when no entry lists it); None when the
    turn has no intent about the knowledge base."""
    intent_confidence: float = 0.0

    def features(self) -> tuple[float, float, float]:
        """Coverage, similarity, and the margin weighed by coverage: a lead over the other entries
        means little when the entry matches only a small part of the question."""
        return (self.coverage, self.similarity, self.coverage * self.margin)


@dataclass(frozen=True, slots=True)
class Calibration:
    intercept: float = -1.02
    coverage: float = 2.58
    similarity: float = 1.0
    margin: float = 1.87
    intent_weight: float = 0.35
    """How far an agreeing intent moves the confidence towards 1 (or a disagreeing one towards 0),
    times the intent's own confidence."""

    def confidence(self, evidence: MatchEvidence) -> float:
        coverage, similarity, covered_margin = evidence.features()
        z = self.intercept + self.coverage * coverage + self.similarity * similarity
        z += self.margin * covered_margin
        probability = 1.0 / (1.0 + math.exp(-z))
        if evidence.intent_agrees is True:
            probability += (1.0 - probability) * self.intent_weight * evidence.intent_confidence
        elif evidence.intent_agrees is False:
            probability *= 1.0 - self.intent_weight * evidence.intent_confidence
        return min(1.0, max(0.0, probability))
