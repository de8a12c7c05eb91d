"""Teams through the running stack: signed activities in at /api/messages, exactly one reply at the local
Bot Connector, and human handoffs that work from Teams and from the web API.

One extra stack for this module (two gateway replicas, so replies go out from whichever replica the
competing subscription picks), pointed at a local OpenID/JWKS server and a local Bot Connector with
its token authority, all over TLS with a test CA.

While the dialogue policy does not escalate on its own, the escalation is published through a sidecar
as dialogue would publish it (with the channel reference the gateway put on the request); once the
policy escalates "I want to talk to a human", the tests use that instead.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from microsoft_agents.activity import Activity

from helpdesk.events import ChannelRef, ChatEscalated, EscalationReason, Language
from helpdesk_ops.devstack import Stack
from services.gateway.channels.teams.activities import channel_ref, turn_ids, user_id_of
from tests.support.connector_server import ReceivedActivity
from tests.support.stack import client_for, eventually, publish, running_stack
from tests.support.teams import APP_PASSWORD, TeamsWorld, teams_world

pytestmark = pytest.mark.integration

HUMAN_PLEASE = "I want to talk to a human"


@pytest.fixture(scope="module")
def world() -> Iterator[TeamsWorld]:
    with teams_world() as w:
        yield w


@pytest.fixture(scope="module")
async def teams_stack(world: TeamsWorld, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    gateway_env = world.env() | {
        "HELPDESK_RATE_LIMIT_PER_USER": "100000",
        "HELPDESK_RATE_LIMIT_PER_KEY": "100000",
    }
    async with running_stack(
        Path(tmp_path_factory.mktemp("teams-stack")),
        replicas={"gateway": 2},
        extra_env={"gateway": gateway_env},
        secrets_extra={"teams-app-password": APP_PASSWORD},
    ) as running:
        yield running


async def post_activity(stack: Stack, world: TeamsWorld, activity: dict[str, Any], replica: int = 0) -> int:
    async with httpx.AsyncClient(base_url=stack.gateway_url(replica), timeout=10) as client:
        response = await client.post("/api/messages", json=activity, headers=world.auth(activity))
    return response.status_code


def bot_messages(world: TeamsWorld, conversation: str) -> list[ReceivedActivity]:
    return world.connector.replies_to(conversation)


def escalation(conversation_id: uuid.UUID, channel: ChannelRef, question: str) -> ChatEscalated:
    return ChatEscalated(
        turn_id=uuid.uuid4(),
        conversation_id=conversation_id,
        channel=channel,
        language=Language.EN,
        reason=EscalationReason.USER_ASKED,
        question=question,
        summary="The user asked for a person.",
        message="An agent will take over this conversation shortly.",
    )


def operator_client(stack: Stack) -> httpx.AsyncClient:
    return client_for(stack, api_key=stack.operator_key)


async def open_handoff(stack: Stack, conversation_id: uuid.UUID) -> dict[str, Any] | None:
    async with operator_client(stack) as operator:
        listed = (await operator.get("/v1/handoffs")).json()
    return next((h for h in listed if h["conversation_id"] == str(conversation_id)), None)


# ---- the round trip -------------------------------------------------------------------------------------


async def test_a_signed_activity_gets_exactly_one_reply_carrying_the_answer(
    teams_stack: Stack, world: TeamsWorld
) -> None:
    conversation = "a:round-trip-conversation"
    activity = world.activity("hello", conversation=conversation)
    assert await post_activity(teams_stack, world, activity) == 200
    [reply] = await eventually(lambda: _settled(bot_messages(world, conversation)))
    async with client_for(teams_stack) as api:
        same = (await api.post("/v1/chat", json={"message": "hello"})).json()
    assert reply.card is not None
    assert reply.card["body"][0]["text"] == same["answer"]
    assert reply.activity["replyToId"] == activity["id"]
    assert reply.authorization is not None
    assert reply.authorization.removeprefix("Bearer ") in world.connector.issued_tokens

    # The Bot Framework resends the same activity, to the other replica: still one reply.
    assert await post_activity(teams_stack, world, activity, replica=1) == 200
    await asyncio.sleep(3)
    assert len(bot_messages(world, conversation)) == 1


async def _settled(messages: list[ReceivedActivity]) -> list[ReceivedActivity]:
    return messages


async def test_a_bad_token_publishes_nothing_and_sends_nothing(teams_stack: Stack, world: TeamsWorld) -> None:
    conversation = "a:forged-conversation"
    activity = world.activity("hello", conversation=conversation)
    async with httpx.AsyncClient(base_url=teams_stack.gateway_url(0), timeout=10) as client:
        forged = await client.post(
            "/api/messages", json=activity, headers=world.auth(activity, audience="another-bot")
        )
        missing = await client.post("/api/messages", json=activity)
    assert (forged.status_code, missing.status_code) == (403, 401)
    await asyncio.sleep(3)
    assert world.connector.replies_to(conversation) == []
    assert [t for t in world.connector.typing if t.conversation_id == conversation] == []


# ---- handoffs -------------------------------------------------------------------------------------------


async def test_a_handoff_round_trip_from_teams(teams_stack: Stack, world: TeamsWorld) -> None:
    conversation = "a:handoff-conversation"
    first = world.activity(HUMAN_PLEASE, conversation=conversation)
    assert await post_activity(teams_stack, world, first) == 200
    [answer] = await eventually(lambda: _settled(bot_messages(world, conversation)))
    parsed = Activity.model_validate(first)
    conversation_id, _ = turn_ids(parsed, user_id_of(parsed))
    if answer.card is not None:  # the policy answered instead of escalating: escalate as dialogue would
        ref = channel_ref(parsed, world.connector.service_url)
        await publish(teams_stack, "chat.escalated", escalation(conversation_id, ref, HUMAN_PLEASE))
    messages = await eventually(lambda: _at_least(bot_messages(world, conversation), 2 if answer.card else 1))
    notice = messages[-1]
    assert notice.card is None
    assert notice.text

    handoff = await eventually(lambda: open_handoff(teams_stack, conversation_id))
    assert handoff is not None
    assert handoff["channel"] == "teams"

    told = len(bot_messages(world, conversation))
    assert (
        await post_activity(teams_stack, world, world.activity("hello? anyone?", conversation=conversation))
        == 200
    )
    await asyncio.sleep(3)
    assert len(bot_messages(world, conversation)) == told  # the bot stays silent

    async with operator_client(teams_stack) as operator:
        replied = await operator.post(
            f"/v1/handoffs/{conversation_id}/reply", json={"message": "Hi, this is Sam from IT."}
        )
        assert replied.status_code == 200, replied.text
        agent = await eventually(
            lambda: _with_text(bot_messages(world, conversation), "Hi, this is Sam from IT.")
        )
        assert len(agent) == 1
        closed = await operator.post(f"/v1/handoffs/{conversation_id}/close")
        assert closed.json()["status"] == "closed"
    await asyncio.sleep(2)
    assert len(_with_text_now(bot_messages(world, conversation), "Hi, this is Sam from IT.")) == 1


async def test_a_handoff_round_trip_from_the_web_api(teams_stack: Stack) -> None:
    async with client_for(teams_stack) as user, operator_client(teams_stack) as operator:
        asked = (await user.post("/v1/chat", json={"message": HUMAN_PLEASE})).json()
        conversation_id = uuid.UUID(asked["conversation_id"])
        if asked["status"] != "escalated":
            api_user = ChannelRef(channel="api", user_id="local-user")  # type: ignore[arg-type]
            await publish(teams_stack, "chat.escalated", escalation(conversation_id, api_user, HUMAN_PLEASE))
        assert await eventually(lambda: open_handoff(teams_stack, conversation_id))

        held = await user.post(
            "/v1/chat", json={"message": "are you there?", "conversation_id": str(conversation_id)}
        )
        assert held.status_code == 202
        assert held.json()["status"] == "handed_off"

        replied = await operator.post(
            f"/v1/handoffs/{conversation_id}/reply", json={"message": "Sam here, hello!"}
        )
        assert replied.status_code == 200, replied.text

        async def agent_messages() -> list[str]:
            view = (await user.get(f"/v1/conversations/{conversation_id}")).json()
            return [m["text"] for m in view["agent_messages"]]

        assert await eventually(agent_messages) == ["Sam here, hello!"]


async def _at_least(messages: list[ReceivedActivity], count: int) -> list[ReceivedActivity]:
    return messages if len(messages) >= count else []


async def _with_text(messages: list[ReceivedActivity], text: str) -> list[ReceivedActivity]:
    return _with_text_now(messages, text)


def _with_text_now(messages: list[ReceivedActivity], text: str) -> list[ReceivedActivity]:
    return [m for m in messages if text in m.text]
