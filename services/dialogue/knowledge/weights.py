"""How an FAQ entry's scores for a question add up: the signals, and the weights measured for them.

Two sets of weights: lexical only (BM25 and character n-grams over the phrasings, the answer and the
topic: the weights measured on StackFAQ before the sentence encoder), and with the multilingual
sentence encoder's two cosines added (chosen on StackFAQ's even threads, docs/benchmarks.md, "FAQ
retrieval"). The nlp intent may multiply the score of entries that list it (`intent`): the lexical set
keeps the factor it always had; with the encoder it is 0 (the intent is evidence for the answer
model instead).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

Scores = NDArray[np.float64]


class Signal(StrEnum):
    """The scores an entry gets for a question, before they are weighed."""

    PHRASING = "phrasing"
    ANSWER = "answer"
    TOPIC = "topic"
    PHRASING_CHARS = "phrasing_chars"
    ANSWER_CHARS = "answer_chars"
    TOPIC_CHARS = "topic_chars"
    SEMANTIC_PHRASING = "semantic_phrasing"
    """Cosine of the sentence vectors of the question and the closest phrasing (0 without encoder)."""
    SEMANTIC_ANSWER = "semantic_answer"
    """The same with the answer (the closer language version)."""


SEMANTIC_SIGNALS = (Signal.SEMANTIC_PHRASING, Signal.SEMANTIC_ANSWER)


@dataclass(frozen=True, slots=True)
class RetrievalWeights:
    """How the scores add up (how the defaults were chosen: docs/benchmarks.md)."""

    phrasing: float = 1.0
    answer: float = 0.8
    topic: float = 0.5
    phrasing_chars: float = 15.0
    answer_chars: float = 15.0
    topic_chars: float = 10.0
    semantic_phrasing: float = 0.0
    semantic_answer: float = 0.0
    intent: float = 0.25
    """An entry listing the turn's intent scores (1 + intent x intent confidence) times higher."""
    k1: float = 1.2
    b: float = 0.75

    def weighed(self, signals: Mapping[Signal, Scores], items: int) -> Scores:
        """The weighted sum of `signals` for each of `items` items (zeros without signals)."""
        total: Scores = np.zeros(items)
        for signal, scores in signals.items():
            weight = getattr(self, signal.value)
            if weight:
                total = total + weight * scores
        return total


LEXICAL_WEIGHTS = RetrievalWeights()
"""Without the sentence encoder: the weights measured on StackFAQ before it (docs/benchmarks.md)."""
SEMANTIC_WEIGHTS = RetrievalWeights(
    phrasing=1.0,
    answer=1.0,
    topic=0.5,
    phrasing_chars=12.0,
    answer_chars=10.0,
    topic_chars=15.0,
    semantic_phrasing=45.0,
    semantic_answer=15.0,
    intent=0.0,
)
"""With the sentence encoder: the grid point with the best MRR on StackFAQ's even threads
(docs/benchmarks.md)."""
