"""Retrieval over the knowledge base: BM25 on language-aware terms, plus character n-grams.

One index holds both languages: each text is indexed under the terms of its own language, a query
under the terms of its language, and Latin words inside Japanese text are English terms, so
"VPN に接続できない" and "VPN won't connect" meet on `vpn`. Three fields are scored per entry:

- phrasing: the question and every alternative phrasing, each its own document; an entry scores as
  its best phrasing (max-pooling), so many phrasings never dilute each other;
- answer: the answer text;
- topic: the question (counted twice), the alternatives, the answers and the tags of every entry that
  shares the question, as one document.

Each field is scored by the kernel's text index (`helpdesk.search`): BM25 and the cosine of character
3-5-gram TF-IDF vectors (robust to typos, inflections and Japanese segmentation). The six scores are
added with the weights of `RetrievalWeights`. The nlp intent, when an entry lists it, multiplies the
entry's score: a soft signal, since it may be missing or wrong. An intent that no entry lists (a need
the knowledge base does not cover, such as a ticket's status) lowers the confidence instead.

Passages of imported documents are searched beside the entries by their own scorer
(passage_search.py). Both kinds end with a calibrated probability of answering the question, so one
ranking holds both: each kind keeps its own order and the two are merged by that probability (an entry
first on a tie). Without passages, retrieval is exactly the FAQ retrieval.

An index is immutable; the knowledge library builds a new one for every knowledge-base version and
swaps it in whole.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from helpdesk.events import Language
from helpdesk.knowledge.entries import FaqEntry, Passage
from helpdesk.search.lexical_index import LexicalIndex
from helpdesk.search.port import Document, Field, FieldScores, Query, Scorer
from helpdesk.text import normalise
from services.dialogue.knowledge.analysis import (
    Vocabulary,
    character_text,
    index_terms,
    latin_words,
    query_terms,
    question_terms,
)
from services.dialogue.knowledge.confidence import Calibration, MatchEvidence
from services.dialogue.knowledge.passage_confidence import PassageCalibration
from services.dialogue.knowledge.passage_search import PassageSearch, PassageWeights
from services.dialogue.knowledge.retrieval import Hit, KnowledgeHit, Retrieval, ranked_together

__all__ = ["Hit", "KnowledgeField", "KnowledgeHit", "KnowledgeIndex", "Retrieval", "RetrievalWeights"]

Scores = NDArray[np.float64]
_Topics = dict[tuple[Language, str], list[tuple[int, Language]]]
"""Per (language, normalised question): the entries asking it, with the language they ask it in."""
MIN_DOCUMENTS_FOR_PRUNING = 20
"""Below this many phrasing and answer documents, no character n-gram is too common to keep."""


class KnowledgeField(StrEnum):
    PHRASING = "phrasing"
    """The question and every alternative phrasing, each its own document."""
    ANSWER = "answer"
    TOPIC = "topic"
    """Everything about one question, as one document."""


@dataclass(frozen=True, slots=True)
class RetrievalWeights:
    """How the field scores add up (how the defaults were chosen: docs/benchmarks.md)."""

    phrasing: float = 1.0
    answer: float = 0.8
    topic: float = 0.5
    phrasing_chars: float = 15.0
    answer_chars: float = 15.0
    topic_chars: float = 10.0
    intent: float = 0.25
    """An entry listing the turn's intent scores (1 + intent x intent confidence) times higher."""
    k1: float = 1.2
    b: float = 0.75


class KnowledgeIndex:
    """The searchable form of one knowledge-base version."""

    def __init__(
        self,
        items: Sequence[FaqEntry | Passage],
        kb_version: str,
        *,
        weights: RetrievalWeights | None = None,
        calibration: Calibration | None = None,
        passage_weights: PassageWeights | None = None,
        passage_calibration: PassageCalibration | None = None,
    ) -> None:
        """`items`: the knowledge base's FAQ entries and passages (flagged passages are left out)."""
        self.kb_version = kb_version
        self.entries: tuple[FaqEntry, ...] = tuple(i for i in items if isinstance(i, FaqEntry))
        self.passages = PassageSearch(
            [i for i in items if isinstance(i, Passage)],
            weights=passage_weights,
            calibration=passage_calibration,
        )
        self.weights = weights or RetrievalWeights()
        self.calibration = calibration or Calibration()
        self._positions = {e.id: i for i, e in enumerate(self.entries)}
        self._passage_positions = {p.id: i for i, p in enumerate(self.passages.passages)}
        self._intents: dict[str, Scores] = {}
        for position, entry in enumerate(self.entries):
            for intent in entry.intents:
                mask = self._intents.setdefault(intent, np.zeros(len(self.entries)))
                mask[position] = 1.0
        if self.entries:
            self._build()

    def __len__(self) -> int:
        """FAQ entries and (unflagged) passages."""
        return len(self.entries) + len(self.passages)

    def get(self, item_id: str) -> FaqEntry | Passage | None:
        position = self._positions.get(item_id)
        if position is not None:
            return self.entries[position]
        number = self._passage_positions.get(item_id)
        return self.passages.passages[number] if number is not None else None

    def _build(self) -> None:
        phrasing, answer, topics, entry_terms = self._phrasings_and_answers()
        topic = self._topic_documents(topics)
        count = len(self.entries)
        vocabulary_documents = len(phrasing) + len(answer)
        # N-grams found in more than half the documents say little and have the longest postings;
        # a knowledge base of a handful of entries keeps them all.
        self._text_index = LexicalIndex(
            [
                Field(KnowledgeField.PHRASING, phrasing),
                Field(KnowledgeField.ANSWER, answer),
                Field(KnowledgeField.TOPIC, topic),
            ],
            count,
            k1=self.weights.k1,
            b=self.weights.b,
            vocabulary_fields={KnowledgeField.PHRASING, KnowledgeField.ANSWER},
            max_df=0.5 if vocabulary_documents >= MIN_DOCUMENTS_FOR_PRUNING else 1.0,
        )
        self._phrasing_language = [[language for language, _ in entry.versions()] for entry in self.entries]
        self._entry_terms = entry_terms
        frequency: Counter[str] = Counter(t for terms in entry_terms for t in terms)
        written = {w for d in (*phrasing, *answer) for w in latin_words(d.text) if len(w) >= 5}
        self.vocabulary = Vocabulary(frequency, written)
        self._idf_unknown = math.log(1 + (count + 0.5) / 0.5)

    def _phrasings_and_answers(
        self,
    ) -> tuple[list[Document], list[Document], _Topics, list[frozenset[str]]]:
        """The phrasing documents (a phrasing shared by entries is one document owned by each), the
        answer documents, the entries grouped by question (for topics) and each entry's terms."""
        phrasings: dict[tuple[Language, str], int] = {}
        phrasing_texts: list[tuple[list[str], str]] = []
        phrasing_owners: list[list[int]] = []
        answers: list[Document] = []
        topics: _Topics = defaultdict(list)
        entry_terms: list[frozenset[str]] = []
        for position, entry in enumerate(self.entries):
            seen: set[str] = set()
            for language, text in entry.versions():
                for phrasing in text.phrasings:
                    key = (language, normalise(phrasing).lower())
                    if key not in phrasings:
                        phrasings[key] = len(phrasing_texts)
                        phrasing_texts.append(
                            (list(index_terms(phrasing, language)), character_text(phrasing, language))
                        )
                        phrasing_owners.append([])
                    owners = phrasing_owners[phrasings[key]]
                    if not owners or owners[-1] != position:
                        owners.append(position)
                    seen.update(phrasing_texts[phrasings[key]][0])
                answer_terms = list(index_terms(text.answer, language))
                seen.update(answer_terms)
                answers.append(Document(answer_terms, character_text(text.answer, language), (position,)))
                topics[(language, normalise(text.question).lower())].append((position, language))
            entry_terms.append(frozenset(seen))
        phrasing_documents = [
            Document(terms, text, tuple(owners))
            for (terms, text), owners in zip(phrasing_texts, phrasing_owners, strict=True)
        ]
        return phrasing_documents, answers, topics, entry_terms

    def _topic_documents(self, topics: _Topics) -> list[Document]:
        """One document per question: the question (counted twice), the alternatives, the answers and the
        tags of every entry that shares it. Also notes each entry's topic, for the margin."""
        documents: list[Document] = []
        self._topic_of = np.full(len(self.entries), -1, dtype=np.int64)
        for number, members in enumerate(topics.values()):
            first_position, language = members[0]
            question = self.entries[first_position].text(language).question
            doc_terms = list(index_terms(question, language)) * 2
            doc_text = [character_text(question, language)]
            alternatives_seen: set[str] = set()
            for position, _ in members:
                text = self.entries[position].text(language)
                for alternative in text.alternatives:
                    if alternative not in alternatives_seen:
                        alternatives_seen.add(alternative)
                        doc_terms.extend(index_terms(alternative, language))
                        doc_text.append(character_text(alternative, language))
                doc_terms.extend(index_terms(text.answer, language))
                doc_terms.extend(index_terms(" ".join(self.entries[position].tags), Language.EN))
                doc_text.append(character_text(text.answer, language))
            owners = sorted({position for position, _ in members})
            documents.append(Document(doc_terms, "\n".join(doc_text), tuple(owners)))
            for position in owners:
                if self._topic_of[position] < 0:
                    self._topic_of[position] = number
        return documents

    def _containing(self, text: Sequence[str], language: Language) -> Scores:
        """The share of the text's terms each entry contains."""
        wanted = set(query_terms(" ".join(text), language, self.vocabulary))
        if not wanted:
            return np.ones(len(self.entries))
        return np.array([len(wanted & terms) / len(wanted) for terms in self._entry_terms])

    def _idf(self, term: str) -> float:
        df = self.vocabulary.document_frequency.get(term)
        if df is None:
            return self._idf_unknown
        return math.log(1 + (len(self.entries) - df + 0.5) / (df + 0.5))

    def _coverage(self, terms: Sequence[str], position: int) -> float:
        unique = set(terms)
        total = sum(self._idf(t) for t in unique)
        if total <= 0:
            return 0.0
        found = sum(self._idf(t) for t in unique if t in self._entry_terms[position])
        return found / total

    def search(
        self,
        text: str,
        language: Language,
        *,
        intent: str | None = None,
        intent_confidence: float = 0.0,
        focus: Sequence[str] = (),
        limit: int = 5,
    ) -> Retrieval:
        """The best entries and passages for `text`. `focus` (a follow-up's own words, searched together
        with the previous question) lowers the score of items by the share of its terms they lack, down
        to half."""
        language = Language.JA if language is Language.JA else Language.EN
        faq = self._search_entries(
            text, language, intent=intent, intent_confidence=intent_confidence, focus=focus, limit=limit
        )
        if not len(self.passages):
            return faq
        found = self.passages.search(text, language, focus=focus, limit=limit)
        if not found.matches:
            return replace(faq, passage_terms=found.terms)
        return ranked_together(faq, found, self.calibration, limit)

    def _search_entries(
        self,
        text: str,
        language: Language,
        *,
        intent: str | None,
        intent_confidence: float,
        focus: Sequence[str],
        limit: int,
    ) -> Retrieval:
        if not self.entries:
            return Retrieval(language, (), (), 0.0, self.kb_version)
        terms = query_terms(text, language, self.vocabulary)
        fields = self._text_index.score(Query(terms, character_text(text, language, question_terms)))
        w = self.weights
        phrasing_similarity = fields[KnowledgeField.PHRASING, Scorer.CHARACTERS]
        scores = (
            w.phrasing * fields[KnowledgeField.PHRASING, Scorer.TERMS]
            + w.answer * fields[KnowledgeField.ANSWER, Scorer.TERMS]
            + w.topic * fields[KnowledgeField.TOPIC, Scorer.TERMS]
            + w.phrasing_chars * phrasing_similarity
            + w.answer_chars * fields[KnowledgeField.ANSWER, Scorer.CHARACTERS]
            + w.topic_chars * fields[KnowledgeField.TOPIC, Scorer.CHARACTERS]
        )
        intent_mask = self._intents.get(intent) if intent else None
        if intent_mask is not None and intent_confidence > 0:
            scores = scores * (1.0 + w.intent * intent_confidence * intent_mask)
        if focus:
            scores = scores * (0.5 + 0.5 * self._containing(focus, language))
        best = int(np.argmax(scores))
        if scores[best] <= 0:
            return Retrieval(language, tuple(terms), (), 0.0, self.kb_version)
        hits = self._hits(scores, fields, terms, language, limit)
        rivals = scores[self._topic_of != self._topic_of[best]]
        runner_up = float(rivals.max()) if rivals.size else 0.0
        evidence = MatchEvidence(
            coverage=hits[0].coverage,
            similarity=hits[0].similarity,
            margin=max(0.0, (float(scores[best]) - runner_up) / float(scores[best])),
            intent_agrees=None if not intent else intent_mask is not None and bool(intent_mask[best]),
            intent_confidence=intent_confidence,
        )
        confidence = self.calibration.confidence(evidence)
        return Retrieval(language, tuple(terms), hits, confidence, self.kb_version, evidence)

    def _hits(
        self, scores: Scores, fields: FieldScores, terms: Sequence[str], language: Language, limit: int
    ) -> tuple[Hit, ...]:
        """The best `limit` entries with a positive score, best first (ties in entry order)."""
        phrasing_similarity = fields[KnowledgeField.PHRASING, Scorer.CHARACTERS]
        wanted = min(limit, len(scores))
        order = np.argpartition(-scores, wanted - 1)[:wanted]
        order = order[np.argsort(-scores[order], kind="stable")]
        return tuple(
            Hit(
                entry=self.entries[i],
                score=float(scores[i]),
                coverage=self._coverage(terms, int(i)),
                similarity=float(phrasing_similarity[i]),
                language=language
                if language in self._phrasing_language[i]
                else self._phrasing_language[i][0],
            )
            for i in order
            if scores[i] > 0
        )
