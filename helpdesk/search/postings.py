"""Postings: per term (feature), the documents that contain it and the term's weight in each, so that a
query reads only the postings of its own terms."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

Weights = NDArray[np.float32]


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
