"""What retrieval finds for one question (`Retrieval`, its `Hit`s), and how FAQ entries and passages of
documents are ranked together.

Both kinds end with a calibrated probability of answering the question (confidence.py for entries,
passage_confidence.py for passages), so one ranking holds both: each kind keeps its own order and the
two lists are merged by that probability, an entry first on a tie. The first hit's probability is the
retrieval's confidence, which the answer policy's thresholds read the same way for either kind.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from helpdesk.events import Language
from helpdesk.knowledge.entries import FaqEntry, Passage
from services.dialogue.knowledge.confidence import MatchEvidence
from services.dialogue.knowledge.passage_confidence import PassageEvidence
from services.dialogue.knowledge.passage_search import PassageResult

KnowledgeHit = FaqEntry | Passage


@dataclass(frozen=True, slots=True)
class Hit:
    entry: KnowledgeHit
    """The FAQ entry or the passage found."""
    score: float
    """The raw score, comparable only between hits of the same kind."""
    coverage: float
    """The share of the query's term weight (IDF) that this entry's (or passage's) texts contain."""
    similarity: float
    """Character n-gram cosine between the query and the entry's closest phrasing (for a passage: its
    character coverage)."""
    language: Language
    """The language of the closest phrasing (for a passage: its own)."""
    probability: float | None = None
    """Calibrated probability that this hit answers the question (None for an item the user picked)."""
    evidence: MatchEvidence | PassageEvidence | None = None
    """What the probability was computed from."""

    @property
    def passage(self) -> Passage | None:
        return self.entry if isinstance(self.entry, Passage) else None


@dataclass(frozen=True, slots=True)
class Retrieval:
    """What the knowledge base offers for one question: what an answer, a clarification or an LLM
    prompt is built from."""

    language: Language
    terms: tuple[str, ...]
    hits: tuple[Hit, ...]
    confidence: float
    """Calibrated probability that the first hit answers the question (0 without hits)."""
    kb_version: str
    evidence: MatchEvidence | PassageEvidence | None = None
    """What the confidence was computed from (None without hits)."""
    passage_terms: tuple[str, ...] = ()
    """The terms passages were searched with (what an extract from a passage is chosen by)."""

    @property
    def top(self) -> Hit | None:
        return self.hits[0] if self.hits else None


def ranked_together(faq: Retrieval, found: PassageResult, limit: int) -> Retrieval:
    """The FAQ retrieval with the passages found merged in, by probability; its confidence and evidence
    are those of whichever hit is first."""
    entries = list(faq.hits)
    passages = [
        Hit(
            entry=m.passage,
            score=m.score,
            coverage=m.coverage,
            similarity=m.evidence.characters,
            language=m.passage.language,
            probability=m.probability,
            evidence=m.evidence,
        )
        for m in found.matches
    ]
    merged: list[Hit] = []
    while (entries or passages) and len(merged) < limit:
        take_entry = bool(entries) and (
            not passages or (entries[0].probability or 0.0) >= (passages[0].probability or 0.0)
        )
        merged.append(entries.pop(0) if take_entry else passages.pop(0))
    top = merged[0]
    if top.passage is None:
        return replace(faq, hits=tuple(merged), passage_terms=found.terms)
    return Retrieval(
        language=faq.language,
        terms=faq.terms or found.terms,
        hits=tuple(merged),
        confidence=top.probability or 0.0,
        kb_version=faq.kb_version,
        evidence=found.matches[0].evidence,
        passage_terms=found.terms,
    )
