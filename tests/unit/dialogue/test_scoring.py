"""The scorers behind retrieval: BM25 as Lucene defines it, and character n-gram TF-IDF cosines."""

from __future__ import annotations

import math

import numpy as np
import pytest

from services.dialogue.knowledge.scoring import BM25, CharacterSpace, character_ngrams


def test_character_ngrams_are_taken_inside_words_padded_with_spaces() -> None:
    assert character_ngrams("VPN") == [" vp", "vpn", "pn ", " vpn", "vpn ", " vpn "]
    assert character_ngrams("a  b") == [" a ", " b "], "a word shorter than three letters counts once"
    assert character_ngrams("ab\tcd") == character_ngrams("ab cd")


def _lucene(tf: int, df: int, documents: int, length: int, average: float, k1: float, b: float) -> float:
    idf = math.log(1 + (documents - df + 0.5) / (df + 0.5))
    return idf * tf / (tf + k1 * (1 - b + b * length / average))


def test_bm25_scores_each_document_as_lucene_does() -> None:
    documents = [["vpn", "connect"], ["vpn", "vpn", "password"], ["printer"], []]
    bm25 = BM25(documents, k1=1.2, b=0.75)
    average = (2 + 3 + 1 + 1) / 4  # a document without terms counts as one empty term

    scores = bm25.scores(["vpn"])

    assert scores is not None
    expected = [
        _lucene(1, 2, 4, 2, average, 1.2, 0.75),
        _lucene(2, 2, 4, 3, average, 1.2, 0.75),
        0.0,
        0.0,
    ]
    assert scores.tolist() == pytest.approx(expected, rel=1e-6)


def test_bm25_counts_a_repeated_query_term_again_and_ignores_unknown_ones() -> None:
    bm25 = BM25([["vpn", "connect"], ["printer", "paper"]], k1=1.2, b=0.75)
    once = bm25.scores(["vpn"])
    assert once is not None
    assert bm25.scores(["vpn", "vpn", "unknown"]) == pytest.approx(2 * once)
    assert bm25.scores(["unknown"]) is None


def test_a_document_is_most_similar_to_itself_with_cosine_one() -> None:
    documents = ["reset my password", "connect to the vpn", "printer out of paper"]
    space = CharacterSpace(documents)
    postings = space.postings(documents)

    for number, text in enumerate(documents):
        features, weights = space.query(text)
        similarity = postings.dot(features, weights)
        assert int(np.argmax(similarity)) == number
        assert similarity[number] == pytest.approx(1.0, rel=1e-6)


def test_ngrams_in_more_than_max_df_of_the_documents_are_left_out() -> None:
    documents = ["the vpn", "the printer", "the password", "a laptop"]
    assert " th" in CharacterSpace(documents).features
    assert " th" not in CharacterSpace(documents, max_df=0.5).features


def test_a_query_without_known_ngrams_has_an_empty_vector_and_matches_nothing() -> None:
    space = CharacterSpace(["reset my password"])
    features, weights = space.query("zzz")
    assert len(features) == 0
    assert space.postings(["reset my password"]).dot(features, weights).tolist() == [0.0]
