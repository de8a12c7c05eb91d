"""The cap on open handoffs, on in-memory ports: per user, per web session, kept by a redelivered
escalation, freed when an agent closes a handoff, and off at 0."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from helpdesk.events import ChatRequested, Contract
from services.gateway.channels.web.web_sessions import WebSessions
from tests.support.gateway import OPERATOR_KEY, GatewayUnderTest, escalation_for, gateway

KEY = "k" * 43


@contextmanager
def escalating(**settings: object) -> Iterator[GatewayUnderTest]:
    """A gateway whose stand-in for dialogue escalates every question, through the handler's calls."""
    with gateway(answering=False, **settings) as g:

        async def escalate(event: Contract) -> None:
            assert isinstance(event, ChatRequested)
            escalated = escalation_for(event, summary="Asked for a person.")
            await g.parts.answers.complete(escalated)
            await g.parts.handoffs.open(escalated)
            await g.parts.answers.push(escalated)

        g.bus.subscribe(ChatRequested.topic, escalate)
        yield g


def open_handoffs(g: GatewayUnderTest) -> list[dict[str, object]]:
    listed: list[dict[str, object]] = g.client.get("/v1/handoffs", headers=g.auth(OPERATOR_KEY)).json()
    return listed


def test_open_handoffs_are_capped_per_user_with_a_clear_409() -> None:
    with escalating(open_handoffs_per_user=2) as g:
        asked = [
            g.client.post("/v1/chat", json={"message": "a person please"}, headers=g.auth()) for _ in range(2)
        ]
        assert [a.json()["escalated"] for a in asked] == [True, True]
        refused = g.client.post("/v1/chat", json={"message": "a person please"}, headers=g.auth())
        assert refused.status_code == 409
        assert refused.headers["content-type"].startswith("application/problem+json")
        problem = refused.json()
        assert problem["type"].endswith("/handoff-limit")
        assert "2 conversations waiting for a person" in problem["detail"]
        assert len(open_handoffs(g)) == 2
        polled = g.client.get(f"/v1/messages/{g.published(ChatRequested)[-1].turn_id}", headers=g.auth())  # type: ignore[attr-defined]
        assert polled.json()["escalated"] is False
        assert polled.json()["answer"] == problem["detail"]

        # A place comes free when an agent closes a handoff.
        closed = g.client.post(
            f"/v1/handoffs/{asked[0].json()['conversation_id']}/close", headers=g.auth(OPERATOR_KEY)
        )
        assert closed.status_code == 200
        again = g.client.post("/v1/chat", json={"message": "a person please"}, headers=g.auth())
        assert again.status_code == 200
        assert again.json()["escalated"] is True
        assert len(open_handoffs(g)) == 2


def test_the_cap_is_per_user() -> None:
    with escalating(open_handoffs_per_user=1) as g:
        assert g.client.post("/v1/chat", json={"message": "a person"}, headers=g.auth()).status_code == 200
        assert g.client.post("/v1/chat", json={"message": "a person"}, headers=g.auth()).status_code == 409
        other = g.client.post("/v1/chat", json={"message": "a person"}, headers=g.auth(OPERATOR_KEY))
        assert other.status_code == 200
        assert len(open_handoffs(g)) == 2


def test_a_web_session_holds_one_open_handoff_by_default() -> None:
    with escalating() as g:
        g.use_web_sessions(WebSessions(KEY, 60))
        token = g.client.post("/v1/sessions").json()["token"]
        visitor = {"authorization": f"Bearer {token}"}
        first = g.client.post("/v1/chat", json={"message": "a person"}, headers=visitor)
        assert first.status_code == 200
        held = g.client.post(
            "/v1/chat",
            json={"message": "hello?", "conversation_id": first.json()["conversation_id"]},
            headers=visitor,
        )
        assert held.json()["status"] == "handed_off", "the open handoff still takes the visitor's messages"
        second = g.client.post("/v1/chat", json={"message": "a person"}, headers=visitor)
        assert second.status_code == 409
        assert "a conversation waiting for a person" in second.json()["detail"]
        assert len(open_handoffs(g)) == 1


def test_a_redelivered_escalation_keeps_its_place() -> None:
    with escalating(open_handoffs_per_user=1) as g:
        g.client.post("/v1/chat", json={"message": "a person"}, headers=g.auth())
        request = g.published(ChatRequested)[-1]
        assert isinstance(request, ChatRequested)
        again = escalation_for(request, summary="Asked for a person.")
        g.client.portal.call(g.parts.answers.complete, again)  # type: ignore[union-attr]
        g.client.portal.call(g.parts.handoffs.open, again)  # type: ignore[union-attr]
        [handoff] = open_handoffs(g)
        assert handoff["conversation_id"] == str(request.conversation_id)
        turn = g.client.get(f"/v1/messages/{request.turn_id}", headers=g.auth()).json()
        assert turn["escalated"] is True


def test_with_the_cap_off_handoffs_open_without_bound() -> None:
    with escalating(open_handoffs_per_user=0) as g:
        for _ in range(5):
            assert (
                g.client.post("/v1/chat", json={"message": "a person"}, headers=g.auth()).status_code == 200
            )
        assert len(open_handoffs(g)) == 5
