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
3-5-gram TF-IDF vectors (robust to typos, inflections and Japanese segmentation). With the multilingual
sentence encoder (semantic.py), the cosine of the question's vector with the closest phrasing and with
the answer are two more scores: they find the entry a question means when it shares few words with
it, across English and Japanese. The scores are added with the weights of `RetrievalWeights` (one set
with the encoder, one without; how they were chosen: docs/benchmarks.md).

Every hit gets the answer model's probability that it answers the question (confidence.py), from the
ranking's sharpness, coverage, similarity, nlp's out-of-scope flag and intent (evidence, never a
multiplier of the score: the intent may be missing or wrong) and whether the sentence vectors alone
agree; the first hit's is the retrieval's confidence.

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
from helpdesk.search.port import Document, Field, Query, Scorer
from helpdesk.text import normalise
from services.dialogue.knowledge.analysis import (
    Vocabulary,
    character_text,
    index_terms,
    latin_words,
    query_terms,
    question_terms,
)
from services.dialogue.knowledge.confidence import LEXICAL_MODEL, SEMANTIC_MODEL, AnswerModel, MatchEvidence
from services.dialogue.knowledge.passage_confidence import PassageCalibration
from services.dialogue.knowledge.passage_search import PassageSearch, PassageWeights
from services.dialogue.knowledge.retrieval import Hit, KnowledgeHit, Retrieval, ranked_together
from services.dialogue.knowledge.semantic import SemanticField, SemanticSpace, semantic_fields
from services.dialogue.knowledge.weights import (
    LEXICAL_WEIGHTS,
    SEMANTIC_SIGNALS,
    SEMANTIC_WEIGHTS,
    RetrievalWeights,
    Signal,
)

__all__ = [
    "LEXICAL_WEIGHTS",
    "SEMANTIC_WEIGHTS",
    "Hit",
    "KnowledgeField",
    "KnowledgeHit",
    "KnowledgeIndex",
    "Retrieval",
    "RetrievalWeights",
    "Signal",
]

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


class KnowledgeIndex:
    """The searchable form of one knowledge-base version."""

    def __init__(
        self,
        items: Sequence[FaqEntry | Passage],
        kb_version: str,
        *,
        semantic: SemanticSpace | None = None,
        weights: RetrievalWeights | None = None,
        model: AnswerModel | None = None,
        passage_weights: PassageWeights | None = None,
        passage_calibration: PassageCalibration | None = None,
    ) -> None:
        """`items`: the knowledge base's FAQ entries and passages (flagged passages are left out).
        `semantic`: the sentence encoder with the vectors it already has (None: lexical retrieval);
        the weights and the answer model default to those measured for either case."""
        self.kb_version = kb_version
        self.semantic = semantic
        self.entries: tuple[FaqEntry, ...] = tuple(i for i in items if isinstance(i, FaqEntry))
        self.passages = PassageSearch(
            [i for i in items if isinstance(i, Passage)],
            weights=passage_weights,
            calibration=passage_calibration,
        )
        self.weights = weights or (SEMANTIC_WEIGHTS if semantic is not None else LEXICAL_WEIGHTS)
        self.model = model or (SEMANTIC_MODEL if semantic is not None else LEXICAL_MODEL)
        self._semantic_fields: tuple[SemanticField, SemanticField] | None = None
        self.embedded_texts: tuple[str, ...] = ()
        """The texts the sentence encoder embedded for this index (what its space must keep)."""
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
        if self.semantic is not None:
            self._semantic_fields, self.embedded_texts = semantic_fields(self.entries, self.semantic)

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
        out_of_scope: bool = False,
        focus: Sequence[str] = (),
        limit: int = 5,
    ) -> Retrieval:
        """The best entries and passages for `text`. `intent` and `out_of_scope` are nlp's reading of
        the message (evidence for the confidence). `focus` (a follow-up's own words, searched together
        with the previous question) lowers the score of items by the share of its terms they lack, down
        to half."""
        language = Language.JA if language is Language.JA else Language.EN
        reading = _Reading(intent, intent_confidence, out_of_scope)
        faq = self._search_entries(text, language, reading, focus=focus, limit=limit)
        if not len(self.passages):
            return faq
        found = self.passages.search(text, language, focus=focus, limit=limit)
        if not found.matches:
            return replace(faq, passage_terms=found.terms)
        return ranked_together(faq, found, limit)

    def signals(self, text: str, language: Language) -> tuple[list[str], dict[Signal, Scores]]:
        """The question's terms and every entry's unweighed scores (what the weights are tuned on)."""
        terms = query_terms(text, language, self.vocabulary)
        fields = self._text_index.score(Query(terms, character_text(text, language, question_terms)))
        signals = {
            Signal.PHRASING: fields[KnowledgeField.PHRASING, Scorer.TERMS],
            Signal.ANSWER: fields[KnowledgeField.ANSWER, Scorer.TERMS],
            Signal.TOPIC: fields[KnowledgeField.TOPIC, Scorer.TERMS],
            Signal.PHRASING_CHARS: fields[KnowledgeField.PHRASING, Scorer.CHARACTERS],
            Signal.ANSWER_CHARS: fields[KnowledgeField.ANSWER, Scorer.CHARACTERS],
            Signal.TOPIC_CHARS: fields[KnowledgeField.TOPIC, Scorer.CHARACTERS],
        }
        if self.semantic is not None and self._semantic_fields is not None:
            question = self.semantic.embed_question(text)
            phrasing, answer = self._semantic_fields
            signals[Signal.SEMANTIC_PHRASING] = phrasing.scores(question)
            signals[Signal.SEMANTIC_ANSWER] = answer.scores(question)
        return terms, signals

    def _search_entries(
        self, text: str, language: Language, reading: _Reading, *, focus: Sequence[str], limit: int
    ) -> Retrieval:
        if not self.entries:
            return Retrieval(language, (), (), 0.0, self.kb_version)
        terms, signals = self.signals(text, language)
        if not terms:
            # Nothing to search for ("???"): a sentence vector of punctuation would still be close to
            # something.
            signals = {s: v for s, v in signals.items() if s not in SEMANTIC_SIGNALS}
        count = len(self.entries)
        lexical = self.weights.weighed({s: v for s, v in signals.items() if s not in SEMANTIC_SIGNALS}, count)
        semantic = self.weights.weighed({s: v for s, v in signals.items() if s in SEMANTIC_SIGNALS}, count)
        intent_mask = self._intents.get(reading.intent) if reading.intent else None
        if intent_mask is not None and reading.confidence > 0 and self.weights.intent:
            lexical = lexical * (1.0 + self.weights.intent * reading.confidence * intent_mask)
        if focus:
            kept = 0.5 + 0.5 * self._containing(focus, language)
            lexical, semantic = lexical * kept, semantic * kept
        scores = lexical + semantic
        if scores.max() <= 0:
            return Retrieval(language, tuple(terms), (), 0.0, self.kb_version)
        semantic_topic = int(self._topic_of[int(np.argmax(semantic))]) if semantic.any() else -1
        hits = self._hits(
            scores,
            _Evidence(signals[Signal.PHRASING_CHARS], terms, reading, intent_mask, semantic_topic),
            language,
            limit,
        )
        first = hits[0]
        return Retrieval(
            language, tuple(terms), hits, first.probability or 0.0, self.kb_version, first.evidence
        )

    def _hits(self, scores: Scores, known: _Evidence, language: Language, limit: int) -> tuple[Hit, ...]:
        """The best `limit` entries with a positive score, best first (ties in entry order), each with
        its probability of answering the question."""
        wanted = min(limit, len(scores))
        order = np.argpartition(-scores, wanted - 1)[:wanted]
        order = order[np.argsort(-scores[order], kind="stable")]
        order = order[scores[order] > 0]
        topic = self._topic_of
        softmax = np.exp(self.model.tau * (scores - scores[order[0]]))
        shares = np.bincount(topic, weights=softmax / softmax.sum())
        rivals = scores[topic != topic[order[0]]]
        lead = float(scores[order[0]]) - (float(rivals.max()) if rivals.size else 0.0)
        hits = []
        for rank, i in enumerate(order.tolist()):
            evidence = MatchEvidence(
                share=float(shares[topic[i]]),
                coverage=self._coverage(known.terms, i),
                similarity=float(known.similarity[i]),
                out_of_scope=known.reading.out_of_scope,
                intent=known.reading.confidence
                if known.intent_mask is not None and known.intent_mask[i]
                else 0.0,
                semantic_agrees=int(topic[i]) == known.semantic_topic,
                margin=max(0.0, lead / float(scores[i])) if rank == 0 else 0.0,
            )
            hits.append(
                Hit(
                    entry=self.entries[i],
                    score=float(scores[i]),
                    coverage=evidence.coverage,
                    similarity=evidence.similarity,
                    language=language
                    if language in self._phrasing_language[i]
                    else self._phrasing_language[i][0],
                    probability=self.model.probability(evidence),
                    evidence=evidence,
                )
            )
        return tuple(hits)


@dataclass(frozen=True, slots=True)
class _Reading:
    """nlp's reading of the message, as retrieval weighs it."""

    intent: str | None
    confidence: float
    out_of_scope: bool


@dataclass(frozen=True, slots=True)
class _Evidence:
    """What every hit's evidence is computed from."""

    similarity: Scores
    terms: Sequence[str]
    reading: _Reading
    intent_mask: Scores | None
    semantic_topic: int
    """The topic the sentence vectors alone put first (-1 without them)."""
