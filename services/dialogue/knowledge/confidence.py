"""The answer model: the probability that an FAQ hit answers the question, and the thresholds that turn
it into a decision.

Raw scores grow with the length of the question and the size of the knowledge base, so they cannot be
compared with a fixed threshold. The probability is a logistic function of a few bounded signals the
services already compute:

- the ranking's own sharpness: the log-odds of the hit's topic under softmax(tau x score) over every
  entry (how far ahead of everything else it is, in score units; entries that ask the same question
  are one topic);
- coverage: the share of the question's term weight (IDF) the entry's texts contain;
- similarity: the character n-gram cosine with the entry's closest phrasing (its weight comes out
  negative: it is already inside the score, and given the score a hit that is close letter by letter
  but not ahead is a near-duplicate wording of another need);
- nlp's out-of-scope flag;
- intent agreement: nlp's intent confidence when the entry lists that intent;
- the semantic ranker agreeing: the sentence vectors alone put the same entry first.

`bench/calibrate.py` fits the coefficients on the bilingual evaluation and tuning sets of the default
knowledge base (bench/data/kb-eval.jsonl and kb-tune.jsonl; questions it cannot answer count as "not
right"; kb-heldout.jsonl is never used), prints the cross-validated curve of direct answers against
wrong answers, and chooses the answer threshold on it by a stated rule (docs/benchmarks.md, "Answer
policy"). There are two models: with the multilingual sentence encoder, and lexical only (the encoder
switched off or not installed), each with its own thresholds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

LOGIT_FLOOR = 1e-6
"""Keeps the log-odds of a share of exactly 0 or 1 finite."""


def log_odds(share: float) -> float:
    return math.log(share + LOGIT_FLOOR) - math.log(1.0 - share + LOGIT_FLOOR)


@dataclass(frozen=True, slots=True)
class MatchEvidence:
    """What one FAQ hit's probability is computed from."""

    share: float
    """Softmax probability of the hit's topic among all entries (the first hit's is the largest)."""
    coverage: float
    similarity: float
    out_of_scope: bool = False
    """nlp marked the message out of scope."""
    intent: float = 0.0
    """nlp's intent confidence when the hit lists that intent; 0 otherwise."""
    semantic_agrees: bool = False
    """The sentence vectors alone rank the hit's entry first (always False without the encoder)."""
    margin: float = 0.0
    """(score - the best other topic's score) / score; logged, not weighed (the share holds it)."""

    def features(self) -> tuple[float, float, float, float, float, float]:
        return (
            log_odds(self.share),
            self.coverage,
            self.similarity,
            float(self.out_of_scope),
            self.intent,
            float(self.semantic_agrees),
        )


FEATURES = ("log_odds", "coverage", "similarity", "out_of_scope", "intent", "semantic_agrees")


@dataclass(frozen=True, slots=True)
class AnswerThresholds:
    answer: float
    """At or above: answer with the first hit."""
    clarify: float
    """At or above (below `answer`): ask which item is meant. Below: hand over (or the out-of-scope
    reply when nlp says out of scope)."""
    choice_ratio: float
    """A second or third choice is offered when its probability is at least this share of the first's."""


@dataclass(frozen=True, slots=True)
class AnswerModel:
    intercept: float
    log_odds: float
    coverage: float
    similarity: float
    out_of_scope: float
    intent: float
    semantic_agrees: float
    tau: float
    """How sharply the softmax over scores is taken (per point of score)."""
    thresholds: AnswerThresholds

    def probability(self, evidence: MatchEvidence) -> float:
        weights = (
            self.log_odds,
            self.coverage,
            self.similarity,
            self.out_of_scope,
            self.intent,
            self.semantic_agrees,
        )
        z = self.intercept + sum(w * x for w, x in zip(weights, evidence.features(), strict=True))
        return 1.0 / (1.0 + math.exp(-z))


SEMANTIC_MODEL = AnswerModel(
    intercept=-2.09,
    log_odds=0.48,
    coverage=2.07,
    similarity=-0.99,
    out_of_scope=-0.44,
    intent=1.6,
    semantic_agrees=0.72,
    tau=0.4,
    thresholds=AnswerThresholds(answer=0.88, clarify=0.15, choice_ratio=0.1),
)
"""With the multilingual sentence encoder: `python -m bench.calibrate` (2026-12-06, 392 questions, the
default knowledge base with ten alternatives per entry and language)."""

LEXICAL_MODEL = AnswerModel(
    intercept=-1.0,
    log_odds=0.73,
    coverage=1.79,
    similarity=-1.04,
    out_of_scope=-0.31,
    intent=1.13,
    semantic_agrees=0.0,
    tau=0.4,
    thresholds=AnswerThresholds(answer=0.92, clarify=0.2, choice_ratio=0.1),
)
"""Lexical only: `python -m bench.calibrate --no-semantic` (2026-12-06, the same sets and knowledge base;
the intent also multiplies the score here)."""
