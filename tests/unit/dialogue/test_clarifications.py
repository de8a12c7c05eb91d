"""Clarifications: what the answer policy offers when a question fits several entries, and every way a
user answers one (by number, ordinal, in words, with a follow-up question, by button, yes or no to a
did-you-mean, none of these, or by asking for a person)."""

from __future__ import annotations

import pytest

from helpdesk.events import AnswerMode, EscalationReason, Language
from services.dialogue import replies
from services.dialogue.policy import DecisionReason
from tests.unit.dialogue.conftest import Conversation, answer, escalation


@pytest.mark.parametrize(
    ("ambiguous", "reply", "chosen"),
    [
        ("password", "2", 1),
        ("password", "the second one", 1),
        ("printer", "the first", 0),
        ("パスワード", "2番", 1),
        ("パスワード", "二番目", 1),
        ("パスワード", "最初の", 0),
    ],
)
def test_an_ambiguous_question_gets_choices_that_the_next_turn_resolves(
    chat: Conversation, ambiguous: str, reply: str, chosen: int
) -> None:
    clarify = chat.say(ambiguous)
    offered = answer(clarify)
    assert offered.mode is AnswerMode.CLARIFY
    assert 2 <= len(offered.choices) <= 3
    assert all(f"{i}. {c.question}" in offered.text for i, c in enumerate(offered.choices, start=1))
    assert chat.memory.clarification is not None

    resolved = answer(chat.say(reply))
    assert resolved.mode is AnswerMode.FAQ
    assert resolved.cited_faq_ids == (offered.choices[chosen].faq_id,)
    assert chat.memory.clarification is None


def test_clarifications_are_worded_in_the_users_language(chat: Conversation) -> None:
    offered = answer(chat.say("パスワード"))
    assert offered.text.startswith(replies.CLARIFY_INTRO[Language.JA])
    assert all("パスワード" in c.question for c in offered.choices[:2])


def test_a_reply_that_is_a_new_question_drops_the_clarification(chat: Conversation) -> None:
    chat.say("password")
    decided = answer(chat.say("how do I book a meeting room"))
    assert decided.cited_faq_ids == ("fac-meeting-room-booking",)
    assert chat.memory.clarification is None


def test_rejecting_every_choice_hands_the_question_to_a_person(chat: Conversation) -> None:
    chat.say("printer")
    handed = escalation(chat.say("none of these"))
    assert handed.reason is EscalationReason.LOW_CONFIDENCE
    assert handed.message == replies.ESCALATED_NOT_RESOLVED[Language.EN]
    assert "Offered and not chosen" in handed.summary


@pytest.mark.parametrize("question", ["VPN", "VPNについて", "password", "パスワード", "printer", "休暇"])
def test_a_clarification_offers_at_most_three_choices_the_likely_one_first(
    chat: Conversation, question: str
) -> None:
    decision = chat.say(question)
    offered = answer(decision)
    assert offered.mode is AnswerMode.CLARIFY
    assert 1 <= len(offered.choices) <= 3
    assert decision.retrieval is not None
    probability = {h.entry.id: h.probability or 0.0 for h in decision.retrieval.hits}
    offered_probability = [probability[c.faq_id] for c in offered.choices]
    assert offered_probability == sorted(offered_probability, reverse=True)
    assert decision.retrieval.hits[0].entry.id in {c.faq_id for c in offered.choices}


@pytest.mark.parametrize(
    ("question", "language", "reply", "chosen"),
    [
        ("payslip", Language.EN, "yes", "hr-payslip"),
        ("payslip", Language.EN, "yep, that's it", "hr-payslip"),
        ("会社のWi-Fi", Language.JA, "はい", "it-wifi-office"),
        ("会社のWi-Fi", Language.JA, "はい、お願いします", "it-wifi-office"),
        ("payslip", Language.EN, "sure thing", "hr-payslip"),
        ("payslip", Language.EN, "that one", "hr-payslip"),
        ("payslip", Language.EN, "ok", "hr-payslip"),
        ("会社のWi-Fi", Language.JA, "ok", "it-wifi-office"),
        ("会社のWi-Fi", Language.JA, "うん、それ", "it-wifi-office"),
    ],
)
def test_one_likely_choice_is_asked_as_did_you_mean_and_yes_answers_it(
    unsure_chat: Conversation, question: str, language: Language, reply: str, chosen: str
) -> None:
    offered = answer(unsure_chat.say(question))
    assert offered.mode is AnswerMode.CLARIFY
    assert [c.faq_id for c in offered.choices] == [chosen]
    assert offered.text == replies.DID_YOU_MEAN[language].format(question=offered.choices[0].question)
    resolved = answer(unsure_chat.say(reply))
    assert resolved.mode is AnswerMode.FAQ
    assert resolved.cited_faq_ids == (chosen,)
    assert unsure_chat.memory.clarification is None


@pytest.mark.parametrize(
    ("question", "reply"),
    [("payslip", "hmm"), ("payslip", "whatever"), ("会社のWi-Fi", "えーと"), ("会社のWi-Fi", "うーん")],
)
def test_a_reply_that_is_neither_yes_nor_no_does_not_take_the_one_choice(
    unsure_chat: Conversation, question: str, reply: str
) -> None:
    """With one choice offered, a reply that names nothing is not a pick of it: the question that was
    asked plus any words would still find the same entry first."""
    assert len(answer(unsure_chat.say(question)).choices) == 1
    decision = unsure_chat.say(reply)
    assert decision.reason is not DecisionReason.CHOSEN


@pytest.mark.parametrize(
    ("question", "reply"),
    [
        ("payslip", "no"),
        ("payslip", "nah"),
        ("payslip", "nope, not that"),
        ("会社のWi-Fi", "いいえ"),
        ("会社のWi-Fi", "いや"),
        ("会社のWi-Fi", "ちがう"),
        ("会社のWi-Fi", "違う"),
        ("会社のWi-Fi", "ううん"),
        ("会社のWi-Fi", "いえ、違います"),
    ],
)
def test_no_to_did_you_mean_hands_the_question_to_a_person(
    unsure_chat: Conversation, question: str, reply: str
) -> None:
    assert len(answer(unsure_chat.say(question)).choices) == 1
    handed = escalation(unsure_chat.say(reply))
    assert handed.reason is EscalationReason.LOW_CONFIDENCE
    assert "Offered and not chosen" in handed.summary


@pytest.mark.parametrize(
    ("question", "reply", "reason"),
    [
        ("VPN", "thanks", DecisionReason.SMALLTALK),
        ("VPNについて", "ありがとう", DecisionReason.SMALLTALK),
        ("VPN", "I need a person", DecisionReason.USER_ASKED),
        ("VPNについて", "担当者と話したい", DecisionReason.USER_ASKED),
    ],
)
def test_thanks_or_a_request_for_a_person_is_not_taken_for_a_choice(
    chat: Conversation, question: str, reply: str, reason: DecisionReason
) -> None:
    assert len(answer(chat.say(question)).choices) > 1
    assert chat.say(reply).reason is reason


@pytest.mark.parametrize(
    ("question", "reply", "position"),
    [
        ("VPN", "3", 2),
        ("VPN", "the last one", 2),
        ("VPN", "the second one", 1),
        ("VPN", "2.", 1),
        ("VPN", "no. 3", 2),
        ("VPNについて", "3番", 2),
        ("VPNについて", "二番目", 1),
        ("VPNについて", "最初の", 0),
        ("VPNについて", "二", 1),
    ],
)
def test_a_clarification_is_answered_by_number_or_ordinal(
    chat: Conversation, question: str, reply: str, position: int
) -> None:
    offered = answer(chat.say(question)).choices
    assert len(offered) == 3
    assert answer(chat.say(reply)).cited_faq_ids == (offered[position].faq_id,)


@pytest.mark.parametrize(
    ("question", "reply", "chosen"),
    [
        ("VPN", "the one where it doesn't connect", "it-vpn-troubleshoot"),
        ("password", "I forgot it", "it-password-reset"),
        ("printer", "paper jam", "it-printer-problem"),
        ("wifi", "the guest one", "it-wifi-guest"),
        ("VPNについて", "接続できない方", "it-vpn-troubleshoot"),
        ("VPNについて", "スマホで使いたい", "it-vpn-mobile"),
        ("パスワード", "忘れてしまった", "it-password-reset"),
        ("Wi-Fi", "ゲスト用", "it-wifi-guest"),
    ],
)
def test_a_clarification_is_answered_in_words(
    unsure_chat: Conversation, question: str, reply: str, chosen: str
) -> None:
    offered = answer(unsure_chat.say(question))
    assert chosen in [c.faq_id for c in offered.choices]
    resolved = answer(unsure_chat.say(reply))
    assert resolved.mode is AnswerMode.FAQ
    assert resolved.cited_faq_ids == (chosen,)


@pytest.mark.parametrize(
    ("question", "reply", "chosen"),
    [
        ("VPN", "what about on my phone?", "it-vpn-mobile"),
        ("VPN", "and if it keeps disconnecting?", "it-vpn-troubleshoot"),
        ("password", "how do I change it before it expires?", "it-password-change"),
        ("VPNについて", "スマホの場合は？", "it-vpn-mobile"),
    ],
)
def test_a_clarification_is_answered_by_a_follow_up_question(
    chat: Conversation, question: str, reply: str, chosen: str
) -> None:
    assert answer(chat.say(question)).mode is AnswerMode.CLARIFY
    assert answer(chat.say(reply)).cited_faq_ids == (chosen,)


def test_a_choice_sent_back_by_its_button_picks_it(chat: Conversation) -> None:
    offered = answer(chat.say("VPN"))
    resolved = answer(chat.say(offered.choices[2].question))
    assert resolved.cited_faq_ids == (offered.choices[2].faq_id,)


@pytest.mark.parametrize(
    ("question", "reply"), [("printer", "none of these"), ("パスワード", "どれでもない")]
)
def test_none_of_these_hands_over_in_either_language(chat: Conversation, question: str, reply: str) -> None:
    assert len(answer(chat.say(question)).choices) >= 2
    handed = escalation(chat.say(reply))
    assert handed.reason is EscalationReason.LOW_CONFIDENCE
    language = Language.JA if reply == "どれでもない" else Language.EN
    assert handed.message == replies.ESCALATED_NOT_RESOLVED[language]


@pytest.mark.parametrize(
    ("question", "reply"),
    [
        ("payslip", "I want to talk to a human"),
        ("VPN", "can I speak to someone"),
        ("会社のWi-Fi", "人と話したい"),
    ],
)
def test_a_request_for_a_person_in_reply_to_a_clarification_hands_over(
    unsure_chat: Conversation, question: str, reply: str
) -> None:
    """Asking for a person is never read as picking one of the offered entries, whatever its words
    share with them."""
    assert answer(unsure_chat.say(question)).mode is AnswerMode.CLARIFY
    handed = escalation(unsure_chat.say(reply))
    assert handed.reason is EscalationReason.USER_ASKED
    assert unsure_chat.memory.clarification is None
