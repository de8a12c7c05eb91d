"""The passage `TextIndex`: how much of a question a passage of a document covers, by words and by
characters, and how close together it covers it.

Three scores per passage (the `Scorer`s `WORD_COVERAGE`, `CHARACTER_COVERAGE` and `PROXIMITY` of the one
field `PASSAGE_FIELD`):

- word coverage W: BM25 of the query's distinct terms over the passage's title and body, divided by
  the most any passage could score for them, sum(idf(t) (k1 + 1)) over the query terms the index
  knows. W is in [0, 1): the idf-weighted share of the question the passage covers, discounted for a
  term mentioned once in a long text. Because it is relative to the query's own maximum it does not
  grow with the question's length or the collection's size, so one weighting fits every collection;
- character coverage C: the same over character n-grams (`script_ngrams`), which catches what word
  segmentation splits differently: compounds, katakana variants, inflections;
- proximity P: for the `depth` passages best by W + C only, the idf-weighted share of the query terms
  found in the title or inside one window of `window` consecutive body terms. A question that restates
  one statement of a passage finds its words close together.

The method and its parameters come from a study on JSQuAD (Japanese Wikipedia paragraphs and
questions) and StackFAQ (English), summarised in docs/benchmarks.md ("Document retrieval"): k1 = 0.6
and b = 0.5 are a compromise that beats plain BM25 on both kinds of question. Positions are kept per
passage for the proximity window, so memory grows with the passages' length. What the port promises
holds (immutable, deterministic, no I/O, cost by the query's postings plus `depth` proximity windows);
PROXIMITY is zero outside the `depth` best passages.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from helpdesk.search.port import FieldScores, ItemScores, Query, Scorer
from helpdesk.search.postings import Postings

PASSAGE_FIELD = "passage"

_RUN = re.compile(r"[^\W_]+", re.UNICODE)
_JAPANESE_SCRIPT = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")


def script_ngrams(text: str) -> list[str]:
    """Character bigrams inside each run of letters and digits that holds Japanese script, padded
    trigrams of the other runs (" vpn " gives " vp", "vpn", "pn "). No n-gram crosses a space or a
    punctuation mark, and a run of one Japanese character is its own unigram. Bigrams suit Japanese
    (most words are two or three characters); trigrams suit words spelt with an alphabet."""
    grams: list[str] = []
    for run in _RUN.findall(unicodedata.normalize("NFKC", text).lower()):
        if not _JAPANESE_SCRIPT.search(run):
            padded = f" {run} "
            grams.extend(padded[i : i + 3] for i in range(len(padded) - 2))
        elif len(run) == 1:
            grams.append(run)
        else:
            grams.extend(run[i : i + 2] for i in range(len(run) - 1))
    return grams


@dataclass(frozen=True, slots=True)
class PassageText:
    """One passage as the index reads it, analysed by the caller (language-aware)."""

    title_terms: Sequence[str]
    """Terms of what names the passage: its document's title and section headings. They count for
    every proximity window."""
    body_terms: Sequence[str]
    """Terms of the passage's text, in reading order (positions matter for proximity)."""
    text: str
    """Title and body as written: where the character n-grams come from."""


class CoverageBM25:
    """BM25 over one field, read as coverage: per document, the BM25 of the query's distinct known
    terms divided by the largest BM25 those terms can reach (idf x (k1 + 1) each). Lucene's idf,
    ln(1 + (N - df + 0.5) / (df + 0.5))."""

    def __init__(self, documents: Sequence[Sequence[str]], *, k1: float, b: float) -> None:
        self.ids: dict[str, int] = {}
        counts = [Counter(self.ids.setdefault(t, len(self.ids)) for t in document) for document in documents]
        count = len(documents)
        lengths = np.array([len(document) for document in documents], dtype=np.float64)
        average = float(lengths.mean()) if count and lengths.mean() > 0 else 1.0
        frequency = np.zeros(len(self.ids), dtype=np.int64)
        for terms in counts:
            frequency[list(terms)] += 1
        self.idf: NDArray[np.float64] = np.log(1.0 + (count - frequency + 0.5) / (frequency + 0.5))
        features: list[NDArray[np.int64]] = []
        weights: list[NDArray[np.float32]] = []
        for number, terms in enumerate(counts):
            ids = np.fromiter(terms.keys(), dtype=np.int64, count=len(terms))
            tf = np.fromiter(terms.values(), dtype=np.float64, count=len(terms))
            norm = k1 * (1.0 - b + b * lengths[number] / average)
            features.append(ids)
            weights.append((self.idf[ids] * tf * (k1 + 1.0) / (tf + norm)).astype(np.float32))
        self._postings = Postings(features, weights, len(self.ids))
        self._k1 = k1
        self.document_count = count

    def known(self, terms: Sequence[str]) -> NDArray[np.int64]:
        """The distinct terms of `terms` the field holds, as ids in ascending order."""
        return np.array(sorted({self.ids[t] for t in terms if t in self.ids}), dtype=np.int64)

    def coverage(self, terms: Sequence[str]) -> ItemScores:
        known = self.known(terms)
        if not len(known):
            return np.zeros(self.document_count)
        scores = self._postings.dot(known, np.ones(len(known)))
        return scores / float(self.idf[known].sum() * (self._k1 + 1.0))


@dataclass(frozen=True, slots=True)
class PassageParameters:
    k1: float = 0.6
    b: float = 0.5
    window: int = 8
    """Body terms per proximity window."""
    depth: int = 20
    """How many passages (best by W + C) get a proximity score."""


class PassageIndex:
    """Word coverage, character coverage and proximity of every passage for a query (see the module)."""

    def __init__(self, passages: Sequence[PassageText], parameters: PassageParameters | None = None) -> None:
        if not passages:
            raise ValueError("an index holds at least one passage")
        self.parameters = parameters or PassageParameters()
        k1, b = self.parameters.k1, self.parameters.b
        self.words = CoverageBM25([[*p.title_terms, *p.body_terms] for p in passages], k1=k1, b=b)
        self.characters = CoverageBM25([script_ngrams(p.text) for p in passages], k1=k1, b=b)
        self._titles = [frozenset(p.title_terms) for p in passages]
        self._positions: list[dict[str, list[int]]] = []
        for passage in passages:
            where: dict[str, list[int]] = {}
            for position, term in enumerate(passage.body_terms):
                where.setdefault(term, []).append(position)
            self._positions.append(where)

    @property
    def item_count(self) -> int:
        return self.words.document_count

    def idf(self, term: str) -> float | None:
        """The word field's idf of a term; None when no passage has it."""
        number = self.words.ids.get(term)
        return float(self.words.idf[number]) if number is not None else None

    def score(self, query: Query) -> FieldScores:
        words = self.words.coverage(query.terms)
        characters = self.characters.coverage(script_ngrams(query.text))
        proximity = np.zeros(self.item_count)
        weights = {t: w for t in dict.fromkeys(query.terms) if (w := self.idf(t)) is not None}
        total = sum(weights.values())
        if total > 0:
            fused = words + characters
            depth = min(self.parameters.depth, self.item_count)
            for passage in np.argpartition(-fused, depth - 1)[:depth].tolist():
                if fused[passage] > 0:
                    proximity[passage] = self._proximity(weights, total, passage)
        return {
            (PASSAGE_FIELD, Scorer.WORD_COVERAGE): words,
            (PASSAGE_FIELD, Scorer.CHARACTER_COVERAGE): characters,
            (PASSAGE_FIELD, Scorer.PROXIMITY): proximity,
        }

    def _proximity(self, weights: dict[str, float], total: float, passage: int) -> float:
        """Share of the query's idf found in the title or within one window of body terms (a sliding
        window over the positions of the query's terms, in order)."""
        title = self._titles[passage]
        found = sum(w for t, w in weights.items() if t in title)
        where = self._positions[passage]
        hits = sorted((p, t) for t in weights if t not in title for p in where.get(t, ()))
        best = current = 0.0
        inside: Counter[str] = Counter()
        left = 0
        for position, term in hits:
            if inside[term] == 0:
                current += weights[term]
            inside[term] += 1
            while hits[left][0] <= position - self.parameters.window:
                gone = hits[left][1]
                inside[gone] -= 1
                if inside[gone] == 0:
                    current -= weights[gone]
                left += 1
            best = max(best, current)
        return (found + best) / total
