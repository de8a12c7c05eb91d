"""Human handoff through the gateway: escalation opens it, the bot goes silent, agents reply and close."""

from __future__ import annotations

import uuid

from helpdesk.events import (
    MAX_MESSAGE_CHARS,
    ChatRequested,
    HandoffReplied,
)
from tests.support.events import envelope
from tests.support.gateway import APP_TOKEN, OPERATOR_KEY, GatewayUnderTest, escalation_for, gateway


def escalate(g: GatewayUnderTest) -> dict:  # type: ignore[type-arg]
    """Ask something, then deliver an escalation for it as dialogue would (competing subscription)."""
    turn = g.client.post("/v1/chat", json={"message": "I need a human"}, headers=g.auth()).json()
    request = g.published(ChatRequested)[-1]
    assert isinstance(request, ChatRequested)
    escalated = escalation_for(
        request, turn_id=uuid.uuid4(), question="I need a human", summary="User asked for a person."
    )
    assert g.deliver(escalated, "chat.escalated") == {"status": "SUCCESS"}
    return turn


def test_an_escalation_opens_a_handoff_that_operators_see() -> None:
    with gateway() as g:
        turn = escalate(g)
        listed = g.client.get("/v1/handoffs", headers=g.auth(OPERATOR_KEY))
        assert listed.status_code == 200
        [handoff] = listed.json()
        assert handoff["conversation_id"] == turn["conversation_id"]
        assert handoff["reason"] == "user_asked"
        detail = g.client.get(f"/v1/handoffs/{turn['conversation_id']}", headers=g.auth(OPERATOR_KEY)).json()
        assert [t["question"] for t in detail["turns"]] == ["I need a human"]


def test_handoff_endpoints_need_the_operator_role() -> None:
    with gateway() as g:
        turn = escalate(g)
        assert g.client.get("/v1/handoffs", headers=g.auth()).status_code == 403
        assert g.client.get("/v1/handoffs").status_code == 401
        reply = g.client.post(
            f"/v1/handoffs/{turn['conversation_id']}/reply", json={"message": "hi"}, headers=g.auth()
        )
        assert reply.status_code == 403
        assert g.published(HandoffReplied) == []


def test_while_handed_off_the_bot_is_silent_and_the_agent_reply_reaches_the_user() -> None:
    with gateway() as g:
        turn = escalate(g)
        requests_before = len(g.published(ChatRequested))
        held = g.client.post(
            "/v1/chat",
            json={"message": "are you there?", "conversation_id": turn["conversation_id"]},
            headers=g.auth(),
        )
        assert held.status_code == 202
        assert held.json()["status"] == "handed_off"
        assert len(g.published(ChatRequested)) == requests_before

        reply = g.client.post(
            f"/v1/handoffs/{turn['conversation_id']}/reply",
            json={"message": "Hi, this is Sam from IT."},
            headers=g.auth(OPERATOR_KEY),
        )
        assert reply.status_code == 200
        [replied] = g.published(HandoffReplied)
        assert isinstance(replied, HandoffReplied)
        assert replied.question == "I need a human"
        for _ in range(2):  # a redelivery adds nothing
            g.client.post(
                "/events/pubsub/handoff.replied",
                json=envelope(replied, "handoff.replied"),
                headers={"dapr-api-token": APP_TOKEN},
            )
        conversation = g.client.get(f"/v1/conversations/{turn['conversation_id']}", headers=g.auth()).json()
        assert [m["text"] for m in conversation["agent_messages"]] == ["Hi, this is Sam from IT."]
        assert conversation["handoff"]["status"] == "open"
        detail = g.client.get(f"/v1/handoffs/{turn['conversation_id']}", headers=g.auth(OPERATOR_KEY)).json()
        assert [m["author"] for m in detail["messages"]] == ["user", "agent"]

        closed = g.client.post(f"/v1/handoffs/{turn['conversation_id']}/close", headers=g.auth(OPERATOR_KEY))
        assert closed.json()["status"] == "closed"
        assert g.client.get("/v1/handoffs", headers=g.auth(OPERATOR_KEY)).json() == []
        back = g.client.post(
            "/v1/chat",
            json={"message": "thanks", "conversation_id": turn["conversation_id"]},
            headers=g.auth(),
        )
        assert back.status_code == 200
        assert len(g.published(ChatRequested)) == requests_before + 1


def test_a_redelivered_escalation_opens_one_handoff() -> None:
    with gateway() as g:
        escalate(g)
        escalate(g)  # another conversation
        assert len(g.client.get("/v1/handoffs", headers=g.auth(OPERATOR_KEY)).json()) == 2


def test_replying_to_a_closed_handoff_is_a_conflict() -> None:
    with gateway() as g:
        turn = escalate(g)
        g.client.post(f"/v1/handoffs/{turn['conversation_id']}/close", headers=g.auth(OPERATOR_KEY))
        reply = g.client.post(
            f"/v1/handoffs/{turn['conversation_id']}/reply",
            json={"message": "late"},
            headers=g.auth(OPERATOR_KEY),
        )
        assert reply.status_code == 409


def test_handoffs_respect_the_flag() -> None:
    from helpdesk.flags import FlagDefinition

    with gateway() as g:
        g.runtime.flag_table.stored["handoff_enabled"] = FlagDefinition(value=False)
        escalate(g)
        assert g.client.get("/v1/handoffs", headers=g.auth(OPERATOR_KEY)).json() == []


def test_an_agent_reply_to_the_longest_escalated_question_is_published() -> None:
    """The reply repeats the escalated question, which the gateway redacts again when it opens the
    handoff: placeholders longer than the addresses they replace must not make the reply too large."""
    question = ("a@b.co " * MAX_MESSAGE_CHARS)[:MAX_MESSAGE_CHARS]
    with gateway() as g:
        g.client.post("/v1/chat", json={"message": "I need a human"}, headers=g.auth())
        request = g.published(ChatRequested)[-1]
        assert isinstance(request, ChatRequested)
        escalated = escalation_for(request, question=question, summary="User asked for a person.")
        assert g.deliver(escalated, "chat.escalated") == {"status": "SUCCESS"}
        reply = g.client.post(
            f"/v1/handoffs/{request.conversation_id}/reply",
            json={"message": "Hi, this is Sam from IT."},
            headers=g.auth(OPERATOR_KEY),
        )
        assert reply.status_code == 200
        [replied] = g.published(HandoffReplied)
        assert isinstance(replied, HandoffReplied)
        assert replied.question is not None
        assert len(replied.question) == MAX_MESSAGE_CHARS
        assert "a@b.co" not in replied.question
