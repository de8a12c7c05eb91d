"""The two scorers behind retrieval, in plain numpy: BM25 over terms, and the cosine of character
n-gram TF-IDF vectors.

They give the scores bm25s (method "lucene", float32) and scikit-learn's `TfidfVectorizer`
(`analyzer="char_wb"`, `ngram_range=(3, 5)`, `sublinear_tf`, float32) gave, operation for operation, so
the retrieval benchmarks are unchanged (docs/benchmarks.md). What the libraries cost and these do not:
scikit-learn's text module adds about 60 MB of resident memory to each dialogue replica, and bm25s
imports SciPy's sparse matrices (15 MB) whenever SciPy is installed, for what is here a lookup of
precomputed weights per query term.

Both keep their weights term by term (a term's postings: the documents that contain it and its weight
in each), so a query reads only the postings of its own terms.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import NDArray

Weights = NDArray[np.float32]
CharVector = tuple[NDArray[np.int64], NDArray[np.float64]]

_WHITESPACE_RUN = re.compile(r"\s\s+")
NGRAM_RANGE = (3, 5)


def character_ngrams(text: str) -> list[str]:
    """Character 3- to 5-grams inside words, each word padded with a space on both sides ("char_wb"):
    "vpn" gives " vp", "vpn", "pn ", " vpn", "vpn ", " vpn ". A word shorter than n gives itself once."""
    low, high = NGRAM_RANGE
    grams: list[str] = []
    for word in _WHITESPACE_RUN.sub(" ", text.lower()).split():
        padded = f" {word} "
        length = len(padded)
        for n in range(low, high + 1):
            if length <= n:
                grams.append(padded)
                break
            grams.extend(padded[start : start + n] for start in range(length - n + 1))
    return grams


class Postings:
    """Per term (feature): the documents containing it and the term's weight in each, documents in
    order."""

    def __init__(
        self, features: Iterable[NDArray[np.int64]], weights: Iterable[Weights], feature_count: int
    ) -> None:
        """`features[d]` and `weights[d]`: the terms of document d and their weights."""
        columns: list[NDArray[np.int64]] = []
        values: list[Weights] = []
        documents: list[NDArray[np.int64]] = []
        for number, (row, row_weights) in enumerate(zip(features, weights, strict=True)):
            columns.append(row)
            values.append(row_weights)
            documents.append(np.full(len(row), number, dtype=np.int64))
        self.document_count = len(columns)
        feature_of = np.concatenate(columns) if columns else np.zeros(0, dtype=np.int64)
        order = np.argsort(feature_of, kind="stable")
        self._documents = (np.concatenate(documents) if documents else feature_of)[order]
        self._weights = (np.concatenate(values) if values else np.zeros(0, dtype=np.float32))[order]
        self._starts = np.zeros(feature_count + 1, dtype=np.int64)
        np.cumsum(np.bincount(feature_of, minlength=feature_count), out=self._starts[1:])

    def _gather(self, features: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Positions of the features' postings, feature after feature, and how many each has."""
        starts = self._starts[features]
        lengths = self._starts[features + 1] - starts
        offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
        return offsets + np.arange(int(lengths.sum())), lengths

    def sum32(self, features: NDArray[np.int64]) -> Weights:
        """Per document, the sum of the features' weights (a feature listed twice counts twice), added
        up in float32 feature after feature."""
        scores = np.zeros(self.document_count, dtype=np.float32)
        if len(features):
            positions, _ = self._gather(features)
            np.add.at(scores, self._documents[positions], self._weights[positions])
        return scores

    def dot(self, features: NDArray[np.int64], query: NDArray[np.float64]) -> NDArray[np.float64]:
        """Per document, the dot product of its vector with a query's (given by its features and their
        weights)."""
        if not len(features):
            return np.zeros(self.document_count)
        positions, lengths = self._gather(features)
        products = self._weights[positions] * np.repeat(query, lengths)
        scores = np.bincount(self._documents[positions], weights=products, minlength=self.document_count)
        return scores.astype(np.float64, copy=False)


class BM25:
    """BM25 as Lucene scores it: idf = ln(1 + (N - df + 0.5) / (df + 0.5)), and per occurrence count tf
    in a document of length dl, tf / (tf + k1 (1 - b + b dl / avgdl)). A document without terms counts
    as one empty term."""

    def __init__(self, documents: Sequence[Sequence[str]], *, k1: float, b: float) -> None:
        vocabulary: dict[str, int] = {}
        token_ids = [[vocabulary.setdefault(t, len(vocabulary)) for t in (d or [""])] for d in documents]
        self._vocabulary = vocabulary
        count = len(token_ids)
        frequency = np.zeros(len(vocabulary), dtype=np.int64)
        for ids in token_ids:
            frequency[list(set(ids))] += 1
        idf = np.array(
            [math.log(1 + (count - df + 0.5) / (df + 0.5)) for df in frequency.tolist()], dtype=np.float32
        )
        average = np.array([len(ids) for ids in token_ids]).mean() if token_ids else np.float64(1.0)
        features: list[NDArray[np.int64]] = []
        weights: list[Weights] = []
        for ids in token_ids:
            counts = Counter(ids)
            terms = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
            length = len(ids)
            saturation = tf / (k1 * ((1 - b) + b * length / average) + tf)
            features.append(terms)
            weights.append((idf[terms] * saturation).astype(np.float32))
        self._postings = Postings(features, weights, len(vocabulary))

    def scores(self, terms: Sequence[str]) -> Weights | None:
        """Each document's score for the query terms (repeated terms count again); None when the index
        knows none of them."""
        ids = [self._vocabulary[t] for t in terms if t in self._vocabulary]
        if not ids:
            return None
        return self._postings.sum32(np.array(ids, dtype=np.int64))


class CharacterSpace:
    """Character n-gram TF-IDF fitted on a set of documents: sublinear tf (1 + ln count), smoothed idf
    (ln((1 + N) / (1 + df)) + 1), vectors of unit length. N-grams found in more than `max_df` of the
    documents are left out."""

    def __init__(self, documents: Sequence[str], *, max_df: float = 1.0) -> None:
        frequency: Counter[str] = Counter()
        for text in documents:
            frequency.update(set(character_ngrams(text)))
        limit = max_df * len(documents)
        kept = sorted(gram for gram, df in frequency.items() if df <= limit)
        self.features = {gram: number for number, gram in enumerate(kept)}
        df32 = np.array([frequency[gram] for gram in kept], dtype=np.float32) + np.float32(1.0)
        idf = np.full_like(df32, len(documents) + 1)
        idf /= df32
        np.log(idf, out=idf)
        idf += np.float32(1.0)
        self._idf32 = idf
        self._idf = idf.astype(np.float64)

    def __len__(self) -> int:
        return len(self.features)

    def _counts(self, text: str) -> Counter[str]:
        return Counter(g for g in character_ngrams(text) if g in self.features)

    def postings(self, documents: Sequence[str]) -> Postings:
        """The documents' vectors (float32), indexed by n-gram."""
        features: list[NDArray[np.int64]] = []
        weights: list[Weights] = []
        for text in documents:
            counts = self._counts(text)
            ids = np.fromiter((self.features[g] for g in counts), dtype=np.int64, count=len(counts))
            order = np.argsort(ids)
            ids = ids[order]
            tf = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))[order]
            vector = (np.log(tf) + np.float32(1.0)) * self._idf32[ids]
            norm = math.sqrt(float(np.cumsum(vector * vector, dtype=np.float64)[-1])) if len(ids) else 0.0
            features.append(ids)
            weights.append((vector.astype(np.float64) / norm).astype(np.float32) if norm > 0 else vector)
        return Postings(features, weights, len(self.features))

    def query(self, text: str) -> CharVector:
        """A query's vector (float64): its known n-grams and their weights."""
        counts = self._counts(text)
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        ids = np.fromiter((self.features[g] for g in counts), dtype=np.int64, count=len(counts))
        weights = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64))) * self._idf[ids]
        return ids, weights / np.linalg.norm(weights)
