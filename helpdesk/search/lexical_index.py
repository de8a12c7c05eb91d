"""The lexical `TextIndex`: BM25 over terms and the cosine of character n-gram TF-IDF vectors, for every
field, in plain numpy.

The two scorers give the scores bm25s (method "lucene", float32) and scikit-learn's `TfidfVectorizer`
(`analyzer="char_wb"`, `ngram_range=(3, 5)`, `sublinear_tf`, float32) give, operation for operation;
why they are written here rather than imported is in docs/architecture.md ("Design decisions").
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from helpdesk.search.bm25 import BM25
from helpdesk.search.character_ngrams import CharacterSpace, CharVector
from helpdesk.search.port import Field, FieldScores, ItemScores, Query, Scorer


class _ScoredField:
    """One field: its documents (BM25 and character vectors) and which items each belongs to."""

    def __init__(self, field: Field, item_count: int, chars: CharacterSpace, *, k1: float, b: float) -> None:
        documents = field.documents
        self._bm25 = BM25([d.terms for d in documents], k1=k1, b=b)
        self._postings = chars.postings([d.text for d in documents])
        pairs = sorted((item, number) for number, d in enumerate(documents) for item in d.owners)
        items_in_order = np.array([item for item, _ in pairs], dtype=np.int64)
        if len(set(items_in_order.tolist())) != item_count:
            raise ValueError(f"every item needs a document in every field ({field.name} lacks some)")
        self._documents = np.array([number for _, number in pairs], dtype=np.int64)
        self._starts = np.searchsorted(items_in_order, np.arange(item_count))

    def _pool(self, document_scores: NDArray[Any]) -> ItemScores:
        return np.maximum.reduceat(document_scores[self._documents], self._starts).astype(np.float64)

    def terms(self, terms: Sequence[str]) -> ItemScores:
        document_scores = self._bm25.scores(terms)
        if document_scores is None:
            return np.zeros(len(self._starts))
        return self._pool(document_scores)

    def characters(self, vector: CharVector) -> ItemScores:
        """Cosine similarity, reading only the postings of the query's n-grams."""
        features, weights = vector
        if not len(features):
            return np.zeros(len(self._starts))
        return self._pool(self._postings.dot(features, weights))


class LexicalIndex:
    """Both scorers over every field. The character n-gram vocabulary and its IDF are fitted on the
    documents of `vocabulary_fields` only, leaving out n-grams found in more than `max_df` of them; the
    other fields are vectorised in that space."""

    def __init__(
        self,
        fields: Sequence[Field],
        item_count: int,
        *,
        k1: float,
        b: float,
        vocabulary_fields: Collection[str],
        max_df: float = 1.0,
    ) -> None:
        if item_count <= 0:
            raise ValueError("an index holds at least one item")
        self._item_count = item_count
        self._chars = CharacterSpace(
            [d.text for f in fields if f.name in vocabulary_fields for d in f.documents], max_df=max_df
        )
        self._fields = {f.name: _ScoredField(f, item_count, self._chars, k1=k1, b=b) for f in fields}

    @property
    def item_count(self) -> int:
        return self._item_count

    def score(self, query: Query) -> FieldScores:
        vector = self._chars.query(query.text)
        scores: dict[tuple[str, Scorer], ItemScores] = {}
        for name, field in self._fields.items():
            scores[(name, Scorer.TERMS)] = field.terms(query.terms)
            scores[(name, Scorer.CHARACTERS)] = field.characters(vector)
        return scores
