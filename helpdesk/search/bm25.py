"""BM25 over terms, as Lucene scores it."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from helpdesk.search.postings import Postings, Weights


class BM25:
    """BM25 as Lucene scores it: idf = ln(1 + (N - df + 0.5) / (df + 0.5)), and per occurrence count tf
    in a document of length dl, tf / (tf + k1 (1 - b + b dl / avgdl)). A document without terms counts
    as one empty term. Scores are float32, added up term after term."""

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
