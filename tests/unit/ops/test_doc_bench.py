"""The document retrieval benchmark: SQuAD-format files read directly, a folder of documents with
labelled queries, and the metrics it reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.doc_bench import Half, folded, read_documents, read_queries, read_squad, run
from helpdesk.knowledge.entries import Passage

ROOT = Path(__file__).resolve().parents[3]
MANUALS = ROOT / "bench" / "data" / "manuals"
MANUAL_QUERIES = ROOT / "bench" / "data" / "manuals-queries.jsonl"


RAINY_SEASON = "梅雨 [SEP] 梅雨は北海道と小笠原諸島を除く日本でみられる雨の多い期間である。"
FRONT = "梅雨 [SEP] 梅雨前線は停滞前線の一種で、オホーツク海高気圧との間にできる。"
TONER = {"id": "q3", "question": "What do laser printers use?", "answers": [{"text": "toner"}]}


def squad_file(tmp_path: Path) -> Path:
    data = {
        "data": [
            {
                "title": "梅雨",
                "paragraphs": [
                    {
                        "context": RAINY_SEASON,
                        "qas": [
                            {
                                "id": "q1",
                                "question": "日本で梅雨がないのは北海道とどこか。",
                                "answers": [{"text": "小笠原諸島", "answer_start": 8}],
                                "is_impossible": False,
                            }
                        ],
                    },
                    {
                        "context": FRONT,
                        "qas": [
                            {
                                "id": "q2",
                                "question": "梅雨前線はどの高気圧との間にできるか。",
                                "answers": [{"text": "オホーツク海高気圧", "answer_start": 18}],
                            }
                        ],
                    },
                ],
            },
            {
                "title": "Printer",
                "paragraphs": [
                    {
                        "context": "A printer puts text on paper. Laser printers use toner.",
                        "qas": [TONER],
                    }
                ],
            },
        ]
    }
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_a_squad_file_gives_one_passage_per_paragraph_without_the_title_prefix(tmp_path: Path) -> None:
    collection = read_squad(squad_file(tmp_path))
    assert [p.title for p in collection.passages] == ["梅雨", "梅雨", "Printer"]
    assert collection.passages[0].text.startswith("梅雨は北海道")
    assert [len(q.relevant) for q in collection.queries] == [1, 1, 1]
    assert collection.queries[0].relevant == {collection.passages[0].id}
    assert collection.queries[0].answers == ("小笠原諸島",)
    assert {q.language.value for q in collection.queries} == {"ja", "en"}


def test_the_benchmark_reports_ranks_answers_latency_and_languages(tmp_path: Path) -> None:
    path = squad_file(tmp_path)
    result = run(path, path, Half.ALL)
    assert result["queries"] == 3
    assert result["p_at_1"] == 1.0
    assert result["mrr"] == 1.0
    assert result["recall_at_5"] == 1.0
    assert result["answer_in_top"] == 1.0
    assert result["p99_ms"] > 0
    assert set(result["by_language"]) == {"en", "ja"}
    assert result["passages"] == 3


def test_answers_are_compared_without_width_case_or_spaces() -> None:
    assert folded("ＳＳＬ (TCP 443)") == folded("ssl(tcp443)")


@pytest.fixture(scope="module")
def manuals() -> list[Passage]:
    return read_documents(MANUALS).passages


def test_every_manual_question_finds_the_passages_it_is_about(manuals: list[Passage]) -> None:
    queries = read_queries(MANUAL_QUERIES, manuals)
    answerable = [q for q in queries if q.relevant]
    assert len(answerable) >= 100
    assert {q.language.value for q in answerable} == {"en", "ja"}
    for query in answerable:
        texts = [folded(p.text) for p in manuals if p.id in query.relevant]
        assert any(folded(query.answers[0]) in text for text in texts), query.text
    halves = {q.half for q in queries}
    assert halves == {Half.TUNE, Half.HELDOUT}
    assert len(queries) - len(answerable) >= 20, "questions the manuals cannot answer"
