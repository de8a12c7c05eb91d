"""Session metrics: conversations, handoffs, re-asked questions, resolution."""

from __future__ import annotations

import uuid

from helpdesk.events import Rating
from services.evaluator.sessions import observe_rating, observe_turn


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
