"""Session metrics: conversations, handoffs, re-asked questions, resolution."""

from __future__ import annotations

import uuid

from helpdesk.events import EscalationReason, Rating
from services.evaluator.conversation_outcomes import handoff_question, observe_rating, observe_turn


def test_a_conversation_counts_once_and_a_reasked_question_makes_it_unresolved() -> None:
    conversation = uuid.uuid4()
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    session, delta, reasked = observe_turn(
        None, conversation, first, ["reset", "password"], escalated=False, variant="a"
    )
    assert delta == {"conversations": 1}
    assert not reasked
    session, delta, reasked = observe_turn(
        session, conversation, second, ["vpn"], escalated=False, variant="a"
    )
    assert delta == {}
    session, delta, reasked = observe_turn(
        session, conversation, third, ["password", "reset", "again"], escalated=False, variant="a"
    )
    assert reasked
    assert delta == {"reasked_turns": 1, "unresolved_conversations": 1}


def test_a_redelivered_turn_contributes_the_same_delta() -> None:
    conversation, turn = uuid.uuid4(), uuid.uuid4()
    session, delta, _ = observe_turn(None, conversation, turn, ["printer"], escalated=True, variant="a")
    again, repeated, _ = observe_turn(session, conversation, turn, ["printer"], escalated=True, variant="a")
    assert again is session
    assert (
        repeated == delta == {"conversations": 1, "handoff_conversations": 1, "unresolved_conversations": 1}
    )


def test_a_thumbs_down_makes_a_conversation_unresolved_once() -> None:
    conversation = uuid.uuid4()
    session, _, _ = observe_turn(None, conversation, uuid.uuid4(), ["vpn"], escalated=False, variant="a")
    session, delta = observe_rating(session, conversation, uuid.uuid4(), Rating.DOWN, "a")
    assert delta == {"unresolved_conversations": 1}
    session, delta = observe_rating(session, conversation, uuid.uuid4(), Rating.DOWN, "a")
    assert delta == {}
    _, delta = observe_rating(session, conversation, uuid.uuid4(), Rating.UP, "a")
    assert delta == {}


def test_an_agent_answers_the_open_question_when_the_user_only_asked_for_a_person() -> None:
    conversation = uuid.uuid4()
    session, _, _ = observe_turn(
        None,
        conversation,
        uuid.uuid4(),
        ["standing", "desk"],
        escalated=False,
        variant="a",
        open_question="How do I get a standing desk?",
    )
    session, _, reasked = observe_turn(
        session,
        conversation,
        uuid.uuid4(),
        [],
        escalated=True,
        variant="a",
        substantive=False,
        escalation_reason=EscalationReason.USER_ASKED,
    )
    assert not reasked
    assert handoff_question(session, "I want to talk to a person") == "How do I get a standing desk?"
    low_confidence, _, _ = observe_turn(
        None,
        uuid.uuid4(),
        uuid.uuid4(),
        ["printer"],
        escalated=True,
        variant="a",
        open_question="The printer smokes",
        escalation_reason=EscalationReason.LOW_CONFIDENCE,
    )
    assert handoff_question(low_confidence, "The printer smokes") == "The printer smokes"
    answered_since, _, _ = observe_turn(
        session, conversation, uuid.uuid4(), ["vpn"], escalated=False, variant="a", answered=True
    )
    assert answered_since.open_question is None


def test_small_talk_is_never_a_reasked_question() -> None:
    conversation = uuid.uuid4()
    session, _, _ = observe_turn(
        None, conversation, uuid.uuid4(), ["thank"], escalated=False, variant="a", substantive=False
    )
    _, delta, reasked = observe_turn(
        session, conversation, uuid.uuid4(), ["thank"], escalated=False, variant="a", substantive=False
    )
    assert not reasked
    assert delta == {}
