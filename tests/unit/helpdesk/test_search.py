"""The kernel's text index: BM25 as Lucene defines it, character n-gram TF-IDF cosines, and what the
index over fields promises (every item scored in every field as its best document, deterministic,
items without a document refused)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from helpdesk.search.bm25 import BM25
from helpdesk.search.character_ngrams import CharacterSpace, character_ngrams
from helpdesk.search.lexical_index import LexicalIndex
from helpdesk.search.port import Document, Field, Query, Scorer


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


def fields() -> list[Field]:
    """Three items: two phrasings of item 0, one phrasing shared by items 1 and 2; one answer each."""
    return [
        Field(
            "phrasing",
            [
                Document(["reset", "password"], "reset my password", (0,)),
                Document(["forgot", "password"], "forgot my password", (0,)),
                Document(["vpn", "connect"], "connect to the vpn", (1, 2)),
            ],
        ),
        Field(
            "answer",
            [
                Document(["sign", "page"], "use the sign-in page", (0,)),
                Document(["install", "client"], "install the client", (1,)),
                Document(["call", "desk"], "call the desk", (2,)),
            ],
        ),
    ]


def index() -> LexicalIndex:
    return LexicalIndex(fields(), 3, k1=1.2, b=0.75, vocabulary_fields={"phrasing", "answer"})


def test_every_item_gets_a_score_from_every_field_and_scorer() -> None:
    scores = index().score(Query(["password"], "password"))

    lexical = (Scorer.TERMS, Scorer.CHARACTERS)
    assert set(scores) == {(f, s) for f in ("phrasing", "answer") for s in lexical}
    assert all(len(item_scores) == 3 for item_scores in scores.values())
    assert scores["answer", Scorer.TERMS].tolist() == [0.0, 0.0, 0.0]


def test_an_item_scores_as_its_best_document_and_a_shared_one_counts_for_each_owner() -> None:
    phrasing = BM25([["reset", "password"], ["forgot", "password"], ["vpn", "connect"]], k1=1.2, b=0.75)
    best = phrasing.scores(["forgot", "password"])
    assert best is not None

    scores = index().score(Query(["forgot", "password"], "forgot password"))[("phrasing", Scorer.TERMS)]

    assert scores[0] == pytest.approx(float(max(best[0], best[1])))
    shared = index().score(Query(["vpn"], "vpn"))[("phrasing", Scorer.TERMS)]
    assert shared[1] == shared[2] > 0


def test_scores_are_the_same_for_the_same_query_and_index() -> None:
    query = Query(["vpn", "password"], "vpn pasword")
    first, second = index().score(query), index().score(query)

    assert all(np.array_equal(first[key], second[key]) for key in first)


def test_an_item_without_a_document_in_a_field_is_refused() -> None:
    broken = [*fields()[:1], Field("answer", [Document(["a"], "a", (0,)), Document(["b"], "b", (1,))])]
    with pytest.raises(ValueError, match="answer"):
        LexicalIndex(broken, 3, k1=1.2, b=0.75, vocabulary_fields={"phrasing"})
