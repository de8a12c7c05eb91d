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
- the semantic ranker agreeing: the sentence vectors alone put the same entry first;
- how many content words the question has (at most `COUNTED_TERMS` counted): the same lead and coverage
  are more telling over six words than over two, where one shared word can carry a near miss;
- whether the question is Japanese: scores of Japanese questions (MeCab lemmas and character n-grams)
  run on another scale than English ones, so the same evidence is worth less there.

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


COUNTED_TERMS = 8
"""Content words counted for the answer model: beyond this a longer message is not more specific, and
the bound keeps a rambling message from buying confidence with its length."""


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
    terms: int = 0
    """The question's content words (filler dropped), as it was searched."""
    japanese: bool = False
    """The question was searched as Japanese."""

    def features(self) -> tuple[float, ...]:
        return (
            log_odds(self.share),
            self.coverage,
            self.similarity,
            float(self.out_of_scope),
            self.intent,
            float(self.semantic_agrees),
            float(min(self.terms, COUNTED_TERMS)),
            float(self.japanese),
        )


FEATURES = (
    "log_odds",
    "coverage",
    "similarity",
    "out_of_scope",
    "intent",
    "semantic_agrees",
    "terms",
    "japanese",
)
"""The answer model's weights, in the order of `MatchEvidence.features`."""


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
    terms: float
    japanese: float
    tau: float
    """How sharply the softmax over scores is taken (per point of score)."""
    thresholds: AnswerThresholds

    def probability(self, evidence: MatchEvidence) -> float:
        weights = tuple(getattr(self, name) for name in FEATURES)
        z = self.intercept + sum(w * x for w, x in zip(weights, evidence.features(), strict=True))
        return 1.0 / (1.0 + math.exp(-z))


SEMANTIC_MODEL = AnswerModel(
    intercept=-3.53,
    log_odds=0.47,
    coverage=2.28,
    similarity=-0.56,
    out_of_scope=-0.46,
    intent=1.73,
    semantic_agrees=0.68,
    terms=0.32,
    japanese=-0.58,
    tau=0.4,
    thresholds=AnswerThresholds(answer=0.85, clarify=0.15, choice_ratio=0.1),
)
"""With the multilingual sentence encoder: `python -m bench.calibrate` (2026-12-06, 392 questions, the
default knowledge base with ten alternatives per entry and language; the question's length and
language added as signals)."""

LEXICAL_MODEL = AnswerModel(
    intercept=-1.0,
    log_odds=0.73,
    coverage=1.79,
    similarity=-1.04,
    out_of_scope=-0.31,
    intent=1.13,
    semantic_agrees=0.0,
    terms=0.0,
    japanese=0.0,
    tau=0.4,
    thresholds=AnswerThresholds(answer=0.92, clarify=0.2, choice_ratio=0.1),
)
"""Lexical only: `python -m bench.calibrate --no-semantic` (2026-12-06, the same sets and knowledge base;
the intent also multiplies the score here). Fitted with the question's length and language too, the
rule's point fell (53.5 % right against 55.3 %), so this model leaves them out (weights 0)."""
