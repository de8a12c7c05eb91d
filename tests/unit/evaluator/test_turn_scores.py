"""Per-answer metrics without an LLM, in English and Japanese."""

from __future__ import annotations

from helpdesk.events import AnswerMode, Citation, Language, Usage
from services.evaluator.scores import turn_scores
from services.evaluator.scores.turn_scores import END_TO_END, evaluate_answer, turn_tally
from tests.unit.evaluator.conftest import PASSWORD_ENTRY, answered, knowledge


def test_an_faq_answer_citing_its_entry_is_relevant_grounded_and_valid() -> None:
    record = evaluate_answer(answered(), knowledge())
    assert record.relevance == 1.0
    assert record.groundedness == 1.0
    assert record.citation_validity == 1.0
    assert record.unknown_citations == []


def test_an_answer_with_unsupported_claims_scores_lower_groundedness() -> None:
    record = evaluate_answer(
        answered(
            mode=AnswerMode.LLM,
            answer="Call the finance team on Friday and they will mail you a new laptop with a password.",
        ),
        knowledge(),
    )
    assert record.groundedness is not None
    assert record.groundedness < 0.3


def test_an_unknown_citation_is_invalid() -> None:
    record = evaluate_answer(answered(cited_faq_ids=["password-reset", "no-such-entry"]), knowledge())
    assert record.citation_validity == 0.5
    assert record.unknown_citations == ["no-such-entry"]


def test_an_llm_answer_without_citations_is_ungrounded() -> None:
    record = evaluate_answer(answered(mode=AnswerMode.LLM, cited_faq_ids=[]), knowledge())
    assert record.groundedness == 0.0
    assert record.citation_validity == 0.0


def test_a_citation_unknown_to_the_copy_still_grounds_through_its_snippet() -> None:
    record = evaluate_answer(
        answered(
            cited_faq_ids=["new-entry"],
            citations=[
                Citation(
                    faq_id="new-entry",
                    title="How do I reset my password?",
                    snippet=PASSWORD_ENTRY["en"]["answer"],
                )
            ],  # type: ignore[index]
        ),
        knowledge(),
    )
    assert record.groundedness == 1.0
    assert record.citation_validity == 0.0


def test_japanese_is_measured_on_morphemes_not_whitespace() -> None:
    ja = PASSWORD_ENTRY["ja"]
    record = evaluate_answer(
        answered(language=Language.JA, question="パスワードを忘れたのでリセットしたい", answer=ja["answer"]),  # type: ignore[index]
        knowledge(),
    )
    assert record.relevance is not None
    assert record.relevance >= 0.6
    assert record.groundedness == 1.0
    unrelated = evaluate_answer(
        answered(language=Language.JA, question="経費精算の締め日はいつですか", answer=ja["answer"]),  # type: ignore[index]
        knowledge(),
    )
    assert unrelated.relevance is not None
    assert unrelated.relevance < record.relevance


def test_smalltalk_has_no_quality_proxies() -> None:
    record = evaluate_answer(
        answered(mode=AnswerMode.SMALLTALK, cited_faq_ids=[], answer="Hello!"), knowledge()
    )
    assert record.relevance is None
    assert record.groundedness is None
    assert record.citation_validity is None


def test_latency_cost_and_tokens_reach_the_tally() -> None:
    record = evaluate_answer(
        answered(usage=Usage(prompt_tokens=100, completion_tokens=20, cost_usd=0.002, cached=True)),
        knowledge(),
    )
    assert 119 <= record.timings_ms[END_TO_END] <= 121
    tally = turn_tally(record, {"conversations": 1})
    assert tally.counts["turns"] == 1
    assert tally.counts["prompt_tokens"] == 100
    assert tally.counts["cost_usd"] == 0.002
    assert tally.counts["cached"] == 1
    assert tally.counts["conversations"] == 1
    assert tally.hist["latency.end_to_end"] == {"250": 1}
    assert tally.hist["latency.nlp"] == {"5": 1}
    assert tally.hist["relevance"] == {"10": 1}


def test_stored_text_is_redacted_even_when_the_producer_missed_something() -> None:
    event = answered(question="reset for jo@example.com please", answer="We sent it to jo@example.com.")
    record = evaluate_answer(event, knowledge())
    assert record.question == "reset for [EMAIL] please"
    assert record.answer == "We sent it to [EMAIL]."


def test_only_faq_answers_are_kept_in_the_answer_cache() -> None:
    """FAQ answers repeat their entry's text and are cached (within a fixed bound); a model's answers
    are new every time, so they are scored and redacted without being kept."""
    turn_scores._faq_answer_terms.cache_clear()
    turn_scores._redacted_faq_answer.cache_clear()
    for n in range(3):
        evaluate_answer(answered(mode=AnswerMode.LLM, answer=f"Open the portal, ticket {n}."), knowledge())
    assert turn_scores._faq_answer_terms.cache_info().currsize == 0
    assert turn_scores._redacted_faq_answer.cache_info().currsize == 0
    for _ in range(3):
        faq = evaluate_answer(answered(), knowledge())
    assert turn_scores._faq_answer_terms.cache_info().hits == 2
    assert turn_scores._faq_answer_terms.cache_info().maxsize == turn_scores.FAQ_ANSWERS_CACHED
    assert faq.relevance == 1.0
    assert faq.answer == answered().answer
