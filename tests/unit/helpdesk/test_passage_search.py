"""The kernel's passage index: coverage of the query by words and by characters (each in [0, 1),
independent of the question's length), proximity of the query's words, and determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest

from helpdesk.search.passage_index import (
    PASSAGE_FIELD,
    CoverageBM25,
    PassageIndex,
    PassageParameters,
    PassageText,
    script_ngrams,
)
from helpdesk.search.port import Query, Scorer

WORDS = (PASSAGE_FIELD, Scorer.WORD_COVERAGE)
CHARACTERS = (PASSAGE_FIELD, Scorer.CHARACTER_COVERAGE)
PROXIMITY = (PASSAGE_FIELD, Scorer.PROXIMITY)


def test_ngrams_are_bigrams_in_japanese_script_and_padded_trigrams_elsewhere() -> None:
    assert script_ngrams("VPN") == [" vp", "vpn", "pn "]
    assert script_ngrams("勤怠入力") == ["勤怠", "怠入", "入力"]
    assert script_ngrams("VPNに接続") == ["vp", "pn", "nに", "に接", "接続"], "a mixed run is Japanese"
    assert script_ngrams("本。a") == ["本", " a "], (
        "no n-gram crosses punctuation; one character is a unigram"
    )
    assert script_ngrams("ＶＰＮ") == script_ngrams("vpn"), "full-width letters are folded first"


def test_coverage_is_bm25_over_the_most_the_query_terms_can_score() -> None:
    documents = [["vpn", "connect"], ["vpn", "vpn", "password"], ["printer"]]
    field = CoverageBM25(documents, k1=0.6, b=0.5)
    idf = {t: math.log(1 + (3 - df + 0.5) / (df + 0.5)) for t, df in (("vpn", 2), ("connect", 1))}
    average = 2.0
    norm0 = 0.6 * (0.5 + 0.5 * 2 / average)
    bm25 = idf["vpn"] * 1.6 / (1 + norm0) + idf["connect"] * 1.6 / (1 + norm0)

    scores = field.coverage(["vpn", "connect", "connect", "unknown"])

    assert scores[0] == pytest.approx(bm25 / ((idf["vpn"] + idf["connect"]) * 1.6), rel=1e-6)
    assert scores[2] == 0.0
    assert np.all((scores >= 0) & (scores < 1))
    assert field.coverage(["unknown"]).tolist() == [0.0, 0.0, 0.0]


def _index(*passages: tuple[str, str], **parameters: float) -> PassageIndex:
    texts = [
        PassageText(title.lower().split(), body.lower().split(), f"{title} {body}")
        for title, body in passages
    ]
    return PassageIndex(texts, PassageParameters(**parameters))  # type: ignore[arg-type]


def _query(text: str) -> Query:
    return Query(text.lower().split(), text)


def test_a_passage_covering_the_whole_question_outscores_one_covering_part_of_it() -> None:
    index = _index(
        ("VPN guide", "install the client then sign in with your account"),
        ("VPN guide", "the client shows the connection state"),
        ("Printer guide", "add the printer from settings"),
    )
    scores = index.score(_query("sign in vpn client"))
    assert scores[WORDS][0] > scores[WORDS][1] > scores[WORDS][2] == 0.0
    assert scores[CHARACTERS][0] > scores[CHARACTERS][1]


def test_coverage_does_not_grow_with_a_repeated_or_longer_question() -> None:
    index = _index(("Guide", "reset the password in the portal"), ("Guide", "printer paper jam"))
    once = index.score(_query("reset password"))[WORDS]
    twice = index.score(_query("reset reset password password"))[WORDS]
    assert once.tolist() == twice.tolist()


def test_words_close_together_score_proximity_and_title_words_count_in_every_window() -> None:
    far = "connect " + "filler " * 20 + "vpn"
    index = _index(
        ("Guide", "how to connect the vpn quickly"),
        ("Guide", far),
        ("VPN", "connect with the button"),
        ("Other", "nothing relevant here"),
        window=8,
    )
    proximity = index.score(_query("connect vpn"))[PROXIMITY]
    assert proximity[0] == pytest.approx(1.0)
    assert proximity[1] == pytest.approx(0.5, abs=0.2), "only one of the two terms fits in a window"
    assert proximity[1] < proximity[0]
    assert proximity[2] == pytest.approx(1.0), "'vpn' is in the title"
    assert proximity[3] == 0.0


def test_proximity_is_computed_for_the_best_passages_only() -> None:
    passages = [("Guide", f"vpn connect topic{i}") for i in range(5)] + [
        ("Guide", "connect here and vpn there")
    ]
    index = _index(*passages, depth=2)
    proximity = index.score(_query("vpn connect"))[PROXIMITY]
    assert int((proximity > 0).sum()) == 2


def test_scores_are_deterministic_and_every_passage_gets_each_score() -> None:
    index = _index(("A", "alpha beta"), ("B", "beta gamma"), ("C", "delta"))
    first = index.score(_query("beta gamma"))
    second = index.score(_query("beta gamma"))
    assert set(first) == {WORDS, CHARACTERS, PROXIMITY}
    for key in first:
        assert len(first[key]) == index.item_count == 3
        assert first[key].tobytes() == second[key].tobytes()
    assert all(not scores.any() for scores in index.score(_query("zzz qqq")).values())


def test_an_empty_index_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one passage"):
        PassageIndex([])
