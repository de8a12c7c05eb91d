"""The gateway redacts what people write before it stores or publishes it: a chat message (turn record and
`chat.requested`), a message written while an agent has the conversation, an agent's reply
(`handoff.replied` and the transcript) and a feedback comment. Raw words stay in the request."""

from __future__ import annotations

import uuid

from helpdesk.events import (
    ChatRequested,
    FeedbackSubmitted,
    HandoffReplied,
)
from tests.support.gateway import OPERATOR_KEY, GatewayUnderTest, escalation_for, gateway
from tests.support.pii import PiiGenerator, Planted, found_in


def everything_kept(g: GatewayUnderTest) -> str:
    stored = "\n".join(v.value.decode() for v in g.state.data.values())
    published = "\n".join(e.model_dump_json() for e in g.published())
    return stored + "\n" + published


def test_nothing_the_gateway_stores_or_publishes_holds_raw_personal_data() -> None:
    """One long scenario on purpose: every path that keeps what a person wrote, in one gateway's life,
    then one search of everything it kept."""
    generator = PiiGenerator(42)
    planted: list[Planted] = []

    def message(count: int) -> str:
        text, items = generator.message(
            count, [PiiGenerator.KINDS[(len(planted) + i) % 10] for i in range(count)]
        )
        planted.extend(items)
        return text

    with gateway() as g:
        answered = g.client.post("/v1/chat", json={"message": message(10)}, headers=g.auth())
        assert answered.status_code == 200, answered.text
        turn = answered.json()
        request = g.published(ChatRequested)[-1]
        assert isinstance(request, ChatRequested)
        assert "[CARD]" in request.text
        assert "[EMAIL]" in request.text

        rated = g.client.post(
            "/v1/feedback",
            json={"turn_id": turn["turn_id"], "rating": "down", "comment": message(5)},
            headers=g.auth(),
        )
        assert rated.status_code == 200, rated.text
        (feedback,) = g.published(FeedbackSubmitted)
        assert isinstance(feedback, FeedbackSubmitted)
        assert feedback.comment
        assert "[" in feedback.comment

        escalated = escalation_for(request, turn_id=uuid.uuid4(), summary=f"Question (en): {request.text}")
        assert g.deliver(escalated, "chat.escalated") == {"status": "SUCCESS"}
        held = g.client.post(
            "/v1/chat",
            json={"message": message(10), "conversation_id": turn["conversation_id"]},
            headers=g.auth(),
        )
        assert held.json()["status"] == "handed_off", held.text
        replied = g.client.post(
            f"/v1/handoffs/{turn['conversation_id']}/reply",
            json={"message": f"Noted: {message(10)}"},
            headers=g.auth(OPERATOR_KEY),
        )
        assert replied.status_code == 200, replied.text
        (reply,) = g.published(HandoffReplied)
        assert isinstance(reply, HandoffReplied)
        assert reply.answer.startswith("Noted: ")

        leaks = [
            f"{item.kind} {item.written!r} as {match!r}"
            for item, match in found_in(everything_kept(g), planted)
        ]
        assert not leaks, "\n".join(leaks)


def test_a_placeholder_across_the_length_bound_is_left_out_whole() -> None:
    """Ten addresses grow by one character each when redacted, which pushes the last one's "[EMAIL]"
    across the message bound: it is left out whole, never published as "[EMA"."""
    message = "a@b.co " * 10 + "y" * 3915 + " a@b.co"
    with gateway() as g:
        answered = g.client.post("/v1/chat", json={"message": message}, headers=g.auth())
        assert answered.status_code == 200, answered.text
        request = g.published(ChatRequested)[-1]
        assert isinstance(request, ChatRequested)
        assert request.text == "[EMAIL] " * 10 + "y" * 3915 + " "
