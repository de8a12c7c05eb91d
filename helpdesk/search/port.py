"""A text index over fields that scores a query.

What an index promises. It is built once from its fields and never changes: a new version of the
texts is a new index, built beside the old one (safely in a worker thread) and swapped in whole by its
owner. Scoring is a pure function of the index and the query, with no I/O and no shared state: the
same query on the same index gives bit-identical scores on every run (no dependence on hash seeds or
thread timing). Its cost grows with the postings of the query's own terms and n-grams, not with the
number of items as such. Every item receives a score from every (field, scorer) pair the index
implements, zero when nothing matched; an item scores in a field as its best document there
(max-pooling), so many documents per item never dilute each other. How the scores are weighed against
each other is the caller's; a new way of scoring is a new `Scorer`, which callers that do not weigh it
ignore. The lexical index implements `TERMS` and `CHARACTERS`, the passage index the three others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

ItemScores = NDArray[np.float64]
"""One score per item, in item order."""


class Scorer(StrEnum):
    TERMS = "terms"
    """BM25 as Lucene scores it, over the documents' terms."""
    CHARACTERS = "characters"
    """Cosine of character 3-5-gram TF-IDF vectors (robust to typos, inflections and segmentation)."""
    WORD_COVERAGE = "word_coverage"
    """BM25 over terms divided by the most the query's terms can score: the share of the query covered."""
    CHARACTER_COVERAGE = "character_coverage"
    """The same over character n-grams (bigrams in Japanese script, padded trigrams otherwise)."""
    PROXIMITY = "proximity"
    """The share of the query's terms found within one short window of a document."""


@dataclass(frozen=True, slots=True)
class Document:
    terms: Sequence[str]
    """The document's terms, analysed by the caller (language-aware)."""
    text: str
    """The text its character n-grams are taken from."""
    owners: Sequence[int]
    """The items (by position) this document belongs to; a shared phrasing may belong to several."""


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    documents: Sequence[Document]


@dataclass(frozen=True, slots=True)
class Query:
    terms: Sequence[str]
    """Analysed as the documents' terms were; a repeated term counts again."""
    text: str
    """The text its character n-grams are taken from."""


FieldScores = Mapping[tuple[str, Scorer], ItemScores]
"""Per (field name, scorer): every item's score."""


class TextIndex(Protocol):
    @property
    def item_count(self) -> int: ...

    def score(self, query: Query) -> FieldScores: ...
