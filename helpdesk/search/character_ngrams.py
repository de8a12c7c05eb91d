"""Character n-gram TF-IDF vectors and their cosine: what is robust to typos, inflections and a
language without spaces."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from helpdesk.search.postings import Postings, Weights

CharVector = tuple[NDArray[np.int64], NDArray[np.float64]]
"""A query's known n-grams and their weights."""

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
