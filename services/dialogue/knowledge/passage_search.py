"""Retrieval over the passages of imported documents (manuals, guides), by the kernel's passage index.

A passage is indexed under the terms of its own language (as FAQ texts are), with its document's title
and section headings as its title: they name what the passage is about, and a question that names the
document ("in the expense system, how do I ...") is matched by them even where the passage text does
not repeat it. The three scores of `helpdesk.search.passage_index` (word coverage, character coverage,
proximity) are added with the weights of `PassageWeights`; how the defaults were chosen is in
docs/benchmarks.md ("Document retrieval").

Flagged passages (their text reads like an instruction to the assistant) are never indexed, so they
can neither answer nor reach a prompt. Each hit carries the evidence its calibrated probability of
answering the question is computed from (passage_confidence.py), so that passages and FAQ entries can
be ranked together and the answer policy's thresholds mean the same for both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from helpdesk.events import Language
from helpdesk.knowledge.entries import Passage
from helpdesk.search.passage_index import (
    PASSAGE_FIELD,
    PassageIndex,
    PassageParameters,
    PassageText,
)
from helpdesk.search.port import Query, Scorer
from helpdesk.text import normalise
from services.dialogue.knowledge.analysis import Vocabulary, index_terms, latin_words, query_terms
from services.dialogue.knowledge.passage_confidence import PassageCalibration, PassageEvidence

Scores = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class PassageWeights:
    """How the passage scores add up: equal weights for the two coverages (each already in [0, 1)
    relative to the query), half a point for proximity (the JSQuAD study's choice)."""

    words: float = 1.0
    characters: float = 1.0
    proximity: float = 0.5
    parameters: PassageParameters = field(default_factory=PassageParameters)


@dataclass(frozen=True, slots=True)
class PassageMatch:
    """One passage found for a question, with what its probability was computed from."""

    passage: Passage
    score: float
    coverage: float
    """The share of the query's term weight (IDF) that the passage's title and text contain."""
    evidence: PassageEvidence
    probability: float


@dataclass(frozen=True, slots=True)
class PassageResult:
    terms: tuple[str, ...]
    matches: tuple[PassageMatch, ...]


def heading(passage: Passage) -> str:
    """What names a passage: its document's title and its section headings."""
    return " ".join(dict.fromkeys(part for part in (passage.title, *passage.section) if part))


class PassageSearch:
    """The searchable form of the (unflagged) passages of one knowledge-base version."""

    def __init__(
        self,
        passages: Sequence[Passage],
        *,
        weights: PassageWeights | None = None,
        calibration: PassageCalibration | None = None,
    ) -> None:
        self.passages: tuple[Passage, ...] = tuple(p for p in passages if not p.flagged)
        self.weights = weights or PassageWeights()
        self.calibration = calibration or PassageCalibration()
        texts: list[PassageText] = []
        self._terms: list[frozenset[str]] = []
        self._headings: list[frozenset[str]] = []
        frequency: dict[str, int] = {}
        written: set[str] = set()
        for passage in self.passages:
            title = index_terms(heading(passage), passage.language)
            body = index_terms(passage.text, passage.language)
            texts.append(PassageText(title, body, f"{heading(passage)} {passage.text}"))
            distinct = frozenset((*title, *body))
            self._terms.append(distinct)
            self._headings.append(frozenset(title))
            for term in distinct:
                frequency[term] = frequency.get(term, 0) + 1
            written.update(w for w in latin_words(passage.text) if len(w) >= 5)
        self.vocabulary = Vocabulary(frequency, written)
        self._index = PassageIndex(texts, self.weights.parameters) if texts else None

    def __len__(self) -> int:
        return len(self.passages)

    def idf(self, term: str) -> float | None:
        return self._index.idf(term) if self._index is not None else None

    def search(
        self, text: str, language: Language, *, focus: Sequence[str] = (), limit: int = 5
    ) -> PassageResult:
        """The best passages for `text`, best first, each with its calibrated probability. `focus` (a
        follow-up's own words) lowers a passage by the share of its terms it lacks, down to half."""
        terms = tuple(query_terms(text, language, self.vocabulary))
        if self._index is None:
            return PassageResult(terms, ())
        fields = self._index.score(Query(terms, normalise(text)))
        w = self.weights
        words = fields[PASSAGE_FIELD, Scorer.WORD_COVERAGE]
        characters = fields[PASSAGE_FIELD, Scorer.CHARACTER_COVERAGE]
        proximity = fields[PASSAGE_FIELD, Scorer.PROXIMITY]
        scores = w.words * words + w.characters * characters + w.proximity * proximity
        if focus:
            scores = scores * (0.5 + 0.5 * self._containing(focus, language))
        wanted = min(limit, len(scores))
        order = np.argpartition(-scores, wanted - 1)[:wanted]
        order = order[np.argsort(-scores[order], kind="stable")]
        order = order[scores[order] > 0]
        if not len(order):
            return PassageResult(terms, ())
        first = float(scores[order[0]])
        runner_up = float(np.partition(scores, -2)[-2]) if len(scores) > 1 else 0.0
        matches = []
        for rank, number in enumerate(order.tolist()):
            score = float(scores[number])
            rival = runner_up if rank == 0 else first
            coverage = self._coverage(terms, number)
            evidence = PassageEvidence(
                coverage=coverage,
                heading=self._coverage(terms, number, self._headings),
                words=float(words[number]),
                characters=float(characters[number]),
                proximity=float(proximity[number]),
                margin=max(0.0, (score - rival) / score),
                terms=len(set(terms)),
            )
            matches.append(
                PassageMatch(
                    passage=self.passages[number],
                    score=score,
                    coverage=coverage,
                    evidence=evidence,
                    probability=self.calibration.confidence(evidence),
                )
            )
        return PassageResult(terms, tuple(matches))

    def _containing(self, text: Sequence[str], language: Language) -> Scores:
        wanted = set(query_terms(" ".join(text), language, self.vocabulary))
        if not wanted:
            return np.ones(len(self.passages))
        return np.array([len(wanted & terms) / len(wanted) for terms in self._terms])

    def _coverage(self, terms: Sequence[str], number: int, held: Sequence[frozenset[str]] = ()) -> float:
        """The share of the query's IDF the passage holds (or its headings, given `held`), as FAQ hits
        count it: a query term no passage has counts with the highest idf there is."""
        unknown = math.log(1 + (len(self.passages) + 0.5) / 0.5)
        weights = {t: w if (w := self.idf(t)) is not None else unknown for t in set(terms)}
        total = sum(weights.values())
        if total <= 0:
            return 0.0
        found = (held or self._terms)[number]
        return sum(w for t, w in weights.items() if t in found) / total
