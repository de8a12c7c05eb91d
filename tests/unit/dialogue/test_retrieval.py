"""Retrieval over the default knowledge base, in English and Japanese."""

from __future__ import annotations

import uuid

import pytest

from helpdesk.events import Language
from helpdesk.knowledge.entries import parse_entry
from services.dialogue.knowledge.analysis import QUESTIONS_KEPT, index_terms, question_terms
from services.dialogue.knowledge.index import KnowledgeIndex


@pytest.mark.parametrize(
    ("question", "language", "intent", "expected"),
    [
        ("I forgot my password and can't log in", Language.EN, "password_reset", "it-password-reset"),
        ("how can I use the VPN from home", Language.EN, "vpn", "it-vpn-connect"),
        ("the printer ate my paper", Language.EN, "printer", "it-printer-problem"),
        ("how many vacation days do I have left", Language.EN, "leave_request", "hr-leave-balance"),
        ("how do I get reimbursed for a taxi receipt", Language.EN, "expenses", "hr-expenses-submit"),
        ("パスワードを忘れてログインできません", Language.JA, "password_reset", "it-password-reset"),
        ("VPNの接続がすぐ切れてしまいます", Language.JA, "vpn", "it-vpn-troubleshoot"),
        ("有給休暇はどうやって申請しますか", Language.JA, "leave_request", "hr-leave-request"),
        ("会議室を押さえたいです", Language.JA, "meeting_room", "fac-meeting-room-booking"),
        ("給与明細を見たい", Language.JA, "payroll", "hr-payslip"),
    ],
)
def test_questions_in_both_languages_find_their_entry_confidently(
    default_index: KnowledgeIndex, question: str, language: Language, intent: str, expected: str
) -> None:
    """With the intent nlp reads in each (evidence for the confidence, as the policy searches)."""
    retrieval = default_index.search(question, language, intent=intent, intent_confidence=0.9)
    assert retrieval.top is not None
    assert retrieval.top.entry.id == expected
    assert retrieval.confidence >= 0.7
    assert retrieval.kb_version == default_index.kb_version


def test_a_question_the_knowledge_base_cannot_answer_gets_low_confidence(
    default_index: KnowledgeIndex,
) -> None:
    assert (
        default_index.search("How do I get a parking permit for the garage?", Language.EN).confidence < 0.45
    )
    assert default_index.search("社食のメニューは？", Language.JA).confidence < 0.45


def test_a_word_longer_than_every_known_one_is_not_tried_letter_by_letter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A message may be one word of thousands of letters: only a word at most one letter longer than a
    known one can be a misspelling of it, so no longer one has its one-letter deletions built (each
    of its length: quadratic in the word before)."""
    from services.dialogue.knowledge import analysis

    vocabulary = analysis.Vocabulary({"password": 3, "printer": 2, "pin": 1})
    deleted_from: list[int] = []
    deletes = analysis._deletes

    def counted(term: str) -> set[str]:
        deleted_from.append(len(term))
        return deletes(term)

    monkeypatch.setattr(analysis, "_deletes", counted)
    assert vocabulary.correct("passwordx" * 400) is None
    assert vocabulary.correct("passwordx") == "password"
    assert vocabulary.correct("pasword") == "password"
    assert vocabulary.correct("printerss") is None
    assert max(deleted_from) <= len("password") + 1


def test_a_misspelt_word_is_read_as_the_known_one(default_index: KnowledgeIndex) -> None:
    retrieval = default_index.search("pasword resett", Language.EN)
    assert "password" in retrieval.terms
    assert retrieval.top is not None
    assert retrieval.top.entry.id == "it-password-reset"


def test_words_split_or_hyphenated_differently_still_meet(default_index: KnowledgeIndex) -> None:
    joined = default_index.search("set up twofactor", Language.EN)
    assert joined.top is not None
    assert joined.top.entry.id == "it-mfa-setup"
    split = default_index.search("my e mail box is full", Language.EN)
    assert split.top is not None
    assert split.top.entry.id == "it-mailbox-full"


def test_question_filler_is_not_searched(default_index: KnowledgeIndex) -> None:
    retrieval = default_index.search("Is there a way to know how to reset the password?", Language.EN)
    assert set(retrieval.terms) == {"reset", "password"}
    assert set(default_index.search("パスワードをリセットする方法を教えて", Language.JA).terms) == {
        "パスワード",
        "リセット",
    }


def test_without_the_encoder_an_agreeing_intent_lifts_its_entries(lexical_index: KnowledgeIndex) -> None:
    plain = lexical_index.search("my phone", Language.EN)
    lifted = lexical_index.search("my phone", Language.EN, intent="vpn", intent_confidence=0.9)
    assert lifted.top is not None
    assert lifted.top.entry.id == "it-vpn-mobile"
    assert plain.top is not None
    assert plain.top.entry.id != "it-vpn-mobile"


def test_with_the_encoder_the_intent_is_evidence_for_the_probability_not_a_lift_in_the_ranking(
    default_index: KnowledgeIndex,
) -> None:
    plain = default_index.search("my phone", Language.EN)
    read = default_index.search("my phone", Language.EN, intent="vpn", intent_confidence=0.9)
    assert [h.entry.id for h in read.hits] == [h.entry.id for h in plain.hits]
    before = {h.entry.id: h.probability or 0.0 for h in plain.hits}
    after = {h.entry.id: h.probability or 0.0 for h in read.hits}
    assert after["it-vpn-mobile"] > before["it-vpn-mobile"]
    assert after["it-email-mobile"] == before["it-email-mobile"], "it does not list the intent"


def test_nlps_out_of_scope_reading_lowers_the_probability(default_index: KnowledgeIndex) -> None:
    question = "Who won the football match last night?"
    assert (
        default_index.search(question, Language.EN, out_of_scope=True).confidence
        < default_index.search(question, Language.EN).confidence
    )


def test_focus_prefers_entries_with_the_follow_up_words(default_index: KnowledgeIndex) -> None:
    together = default_index.search(
        "How do I connect to the VPN from home? and on my phone?", Language.EN, focus=["and on my phone?"]
    )
    assert together.top is not None
    assert together.top.entry.id == "it-vpn-mobile"


def test_hits_expose_entries_scores_and_the_evidence_of_the_confidence(default_index: KnowledgeIndex) -> None:
    retrieval = default_index.search("reset my password", Language.EN, limit=3)
    assert len(retrieval.hits) == 3
    assert [h.score for h in retrieval.hits] == sorted((h.score for h in retrieval.hits), reverse=True)
    assert retrieval.evidence is not None
    assert 0.0 <= retrieval.evidence.coverage <= 1.0
    assert retrieval.hits[0].language is Language.EN


def test_an_entry_in_one_language_is_found_from_the_other_through_shared_latin_words() -> None:
    index = KnowledgeIndex(
        [
            parse_entry(
                {"id": "a", "question": "How do I use the YubiKey with Okta?", "answer": "Plug it in."}
            ),
            parse_entry({"id": "b", "question": "How do I book a desk?", "answer": "Use the app."}),
        ],
        "v1",
    )
    retrieval = index.search("YubiKeyをOktaで使いたい", Language.JA)
    assert retrieval.top is not None
    assert retrieval.top.entry.id == "a"


def test_entries_sharing_a_question_pool_their_answers() -> None:
    index = KnowledgeIndex(
        [
            parse_entry({"id": "t1-a0", "question": "Strikethrough in markdown", "answer": "Use tildes."}),
            parse_entry(
                {"id": "t1-a1", "question": "Strikethrough in markdown", "answer": "Use the del tag."}
            ),
            parse_entry({"id": "t2-a0", "question": "Bold text in markdown", "answer": "Use two asterisks."}),
        ],
        "v1",
    )
    retrieval = index.search("cross out words in markdown with the del tag", Language.EN)
    assert retrieval.top is not None
    assert retrieval.top.entry.id == "t1-a1"
    assert {h.entry.id for h in retrieval.hits[:2]} == {"t1-a0", "t1-a1"}


def test_an_empty_knowledge_base_finds_nothing() -> None:
    retrieval = KnowledgeIndex([], "empty").search("anything", Language.EN)
    assert retrieval.hits == ()
    assert retrieval.confidence == 0.0
    assert retrieval.top is None


def test_a_question_without_terms_finds_nothing_when_no_characters_match(
    default_index: KnowledgeIndex,
) -> None:
    retrieval = default_index.search("???", Language.EN)
    assert retrieval.top is None
    assert retrieval.confidence == 0.0


@pytest.mark.parametrize(
    ("question", "language"),
    [("how do I reset my password", Language.EN), ("パスワードを忘れました", Language.JA)],
)
def test_user_messages_stay_out_of_the_knowledge_base_term_cache(
    default_index: KnowledgeIndex, question: str, language: Language
) -> None:
    """Every message ever asked would otherwise be kept for the life of the process."""
    kept = index_terms.cache_info().currsize
    default_index.search(f"{question} {uuid.uuid4().hex}", language)
    assert index_terms.cache_info().currsize == kept
    assert question_terms.cache_info().maxsize == QUESTIONS_KEPT
