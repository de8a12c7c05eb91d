"""A reply that picks one entry of a clarification says so on its `chat.answered` (`clarified`): the
question that was asked, the entry picked and the choices offered, so the evaluator can learn the
question's wording as an alternative of that entry. Nothing else carries it."""

from __future__ import annotations

import pytest

from helpdesk.events import AnswerMode, ChatAnswered, Clarified
from services.dialogue.policy import Decision, reply_language
from services.dialogue.responder import outcome_event
from tests.unit.dialogue.conftest import Conversation, analyzed, answer


def answered_event(chat: Conversation, text: str) -> ChatAnswered:
    """The `chat.answered` the responder would publish for this turn."""
    event = analyzed(text, conversation_id=chat.memory.conversation_id)
    before = chat.memory
    decision: Decision = chat.say(text)
    outcome = outcome_event(event, decision, 0.0, reply_language(event, before))
    assert isinstance(outcome, ChatAnswered), outcome
    return outcome


@pytest.mark.parametrize(("question", "reply", "chosen"), [("password", "2", 1), ("パスワード", "最初の", 0)])
def test_a_choice_by_number_or_ordinal_says_which_entry_the_question_meant(
    chat: Conversation, question: str, reply: str, chosen: int
) -> None:
    offered = answer(chat.say(question))
    assert offered.mode is AnswerMode.CLARIFY
    resolved = answered_event(chat, reply)
    assert resolved.mode is AnswerMode.FAQ
    assert resolved.clarified == Clarified(
        question=question, faq_id=offered.choices[chosen].faq_id, choices=list(offered.choices)
    )


def test_yes_to_did_you_mean_says_which_entry_the_question_meant(unsure_chat: Conversation) -> None:
    offered = answer(unsure_chat.say("payslip"))
    assert [c.faq_id for c in offered.choices] == ["hr-payslip"]
    resolved = answered_event(unsure_chat, "yes")
    assert resolved.clarified is not None
    assert (resolved.clarified.question, resolved.clarified.faq_id) == ("payslip", "hr-payslip")


def test_a_choice_sent_back_by_its_button_says_which_entry(chat: Conversation) -> None:
    offered = answer(chat.say("VPN"))
    resolved = answered_event(chat, offered.choices[1].question)
    assert resolved.clarified is not None
    assert resolved.clarified.faq_id == offered.choices[1].faq_id
    assert resolved.clarified.question == "VPN"


def test_none_of_these_and_a_request_for_a_person_carry_no_choice(chat: Conversation) -> None:
    chat.say("printer")
    assert chat.say("none of these").clarified is None
    chat.say("payslip")
    assert chat.say("I want to talk to a human").clarified is None


def test_direct_answers_clarifications_and_new_questions_carry_no_choice(chat: Conversation) -> None:
    assert answered_event(chat, "password").clarified is None
    new_question = answered_event(chat, "how do I book a meeting room")
    assert new_question.cited_faq_ids == ["fac-meeting-room-booking"]
    assert new_question.clarified is None


def test_an_answer_without_the_field_is_read_as_before() -> None:
    event = ChatAnswered.model_validate(
        {
            "turn_id": "00000000-0000-0000-0000-000000000001",
            "conversation_id": "00000000-0000-0000-0000-000000000002",
            "channel": {"channel": "api", "user_id": "u"},
            "language": "en",
            "question": "q",
            "answer": "a",
            "mode": "faq",
        }
    )
    assert event.clarified is None
    assert event.schema_version == 1
