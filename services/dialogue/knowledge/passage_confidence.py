"""Calibrated confidence for passages: the probability that a passage answers the question, on the
same scale as the FAQ entries' confidence (confidence.py), so that the answer policy's thresholds
(answer, clarify, escalate) mean the same whichever kind of item is first.

The evidence is the share of the question's term weight the passage holds and the share its document
title and headings hold (what it is about rather than what it mentions), the passage scorer's
character coverage (in [0, 1] relative to the n-grams the passages know, see
`helpdesk.search.passage_index`), the margin over the next passage weighed by coverage (as for FAQ
entries), and how short the question is (a one- or two-word question that a passage merely contains
says little). The coefficients are a logistic regression fitted by `bench/calibrate_passages.py` on
tuning halves only: the IT-manual set's tuning queries (with short ones and questions the manuals
cannot answer) and JSQuAD's tuning articles, each question also asked with its own article left out of
the index; the held-out halves measure it (docs/benchmarks.md, "Document retrieval").
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
    heading: float
    """The share of the question's term weight in the passage's document title and headings: what the
    passage is about, rather than what it mentions."""
    words: float
    characters: float
    proximity: float
    margin: float
    """(score - the best other passage's score) / score; 0 for any passage but the first."""
    terms: int = 0
    """How many distinct terms the question has."""

    def features(self) -> tuple[float, float, float, float, float]:
        """Coverage, the headings' coverage, character coverage, the margin weighed by coverage, and
        1 / the question's number of terms: a one-word question that a passage merely contains is weak
        evidence, however complete its "coverage". Word coverage and proximity add nothing once these
        are known (cross-validated on the tuning halves, see docs/benchmarks.md), so they are kept for
        logs, not weighed."""
        shortness = 1.0 / max(self.terms, 1)
        return (self.coverage, self.heading, self.characters, self.coverage * self.margin, shortness)


@dataclass(frozen=True, slots=True)
class PassageCalibration:
    intercept: float = -4.17
    coverage: float = 4.66
    heading: float = 4.05
    characters: float = 7.09
    margin: float = 3.68
    shortness: float = -9.54

    def confidence(self, evidence: PassageEvidence) -> float:
        coverage, heading, characters, covered_margin, shortness = evidence.features()
        z = self.intercept + self.coverage * coverage + self.heading * heading
        z += self.characters * characters + self.margin * covered_margin + self.shortness * shortness
        return 1.0 / (1.0 + math.exp(-z))
