"""Client identity that cannot be spoofed, attacked on the real stack: rotating `X-Forwarded-For`
from an untrusted peer does not make one client many (web sessions, anonymous chats), one turn takes one
rating, open handoffs are capped, an anonymous client reads only its own conversations, and a retry
whose JSON has its keys in another order is the same request.

One stack for the module, with limits close to a deployed gateway's (the session `stack` sets them
very high) and anonymous access on. The limits count per fixed window of the wall clock; tests that
must see a limit bite start their burst with enough of the window left (`window_with_room`). The
forwarded-header tests go last: they spend the loopback address's budgets.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from helpdesk.topics import Topic
from helpdesk_ops.devstack import Stack
from tests.support.stack import client_for, eventually, running_stack

pytestmark = pytest.mark.integration

CHATS_PER_WINDOW = 12
SESSIONS_PER_ADDRESS = 8
FEEDBACK_PER_USER = 10
HANDOFFS_PER_USER = 2
HANDOFFS_PER_SESSION = 1
WINDOW_SECONDS = 60
LIMITS = {
    "HELPDESK_ALLOW_ANONYMOUS": "true",
    "HELPDESK_RATE_LIMIT_PER_USER": str(CHATS_PER_WINDOW),
    "HELPDESK_RATE_LIMIT_PER_KEY": "600",
    "HELPDESK_RATE_LIMIT_WINDOW_SECONDS": str(WINDOW_SECONDS),
    "HELPDESK_WEB_SESSIONS_PER_ADDRESS": str(SESSIONS_PER_ADDRESS),
    "HELPDESK_FEEDBACK_PER_USER": str(FEEDBACK_PER_USER),
    "HELPDESK_OPEN_HANDOFFS_PER_USER": str(HANDOFFS_PER_USER),
    "HELPDESK_OPEN_HANDOFFS_PER_SESSION": str(HANDOFFS_PER_SESSION),
}
ASK_FOR_A_PERSON = "I want to talk to a human please"
FAQ_QUESTION = "how do I reset my password?"


@pytest.fixture(scope="module")
async def edge(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with running_stack(Path(tmp_path_factory.mktemp("identity")), extra_env={"gateway": LIMITS}) as s:
        yield s


def anonymous_client(stack: Stack) -> httpx.AsyncClient:
    """A client without a credential that keeps the cookies it is given, as a browser or `curl -c/-b`."""
    return httpx.AsyncClient(base_url=stack.gateway_url(), timeout=30)


def operator_client(stack: Stack) -> httpx.AsyncClient:
    return client_for(stack, api_key=stack.operator_key)


async def web_session(stack: Stack) -> httpx.AsyncClient:
    async with httpx.AsyncClient(base_url=stack.gateway_url(), timeout=30) as client:
        issued = await client.post("/v1/sessions")
    assert issued.status_code == 200, issued.text
    return client_for(stack, api_key=issued.json()["token"])


async def window_with_room(seconds: float = 20.0) -> None:
    """Wait for the next rate-limit window when the current one has less than `seconds` left, so that a
    burst is counted in one window (the gateway and the test share this machine's clock)."""
    left = WINDOW_SECONDS - time.time() % WINDOW_SECONDS
    if left < seconds:
        await asyncio.sleep(left + 0.5)


async def events_of(stack: Stack, topic: Topic, turn_id: str) -> list[dict[str, Any]]:
    client = aioredis.Redis.from_url(f"redis://{stack.redis_address}")
    try:
        entries = await client.xrange(topic.value)
    finally:
        await client.aclose()
    found = []
    for _, fields in entries:
        data = json.loads(fields[b"data"]).get("data", {})
        if isinstance(data, dict) and data.get("turn_id") == turn_id:
            found.append(data)
    return found


def assert_problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"].endswith("/" + kind), body
    return body


# ---- anonymous access: an identity of one's own (item 7) ------------------------------------------


async def test_each_anonymous_client_gets_an_identity_of_its_own(edge: Stack) -> None:
    async with anonymous_client(edge) as alice:
        first = await alice.post("/v1/chat", json={"message": FAQ_QUESTION})
        assert first.status_code == 200, first.text
        conversation = first.json()["conversation_id"]
        turn = first.json()["turn_id"]
        assert (await alice.get(f"/v1/conversations/{conversation}")).status_code == 200
        again = await alice.post("/v1/chat", json={"message": "thanks", "conversation_id": conversation})
        assert again.status_code == 200, "the same client continues its conversation with its cookie"

    async with anonymous_client(edge) as mallory:
        assert (await mallory.get(f"/v1/conversations/{conversation}")).status_code == 404
        assert (await mallory.get(f"/v1/messages/{turn}")).status_code == 404
        taking_over = await mallory.post("/v1/chat", json={"message": "hi", "conversation_id": conversation})
        assert taking_over.status_code == 404

    cookie = first.headers.get("set-cookie", "")
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")}
    assert "httponly" in attributes, cookie
    assert attributes.get("samesite", "").lower() == "samesite=strict", cookie
    name, _, value = cookie.split(";")[0].partition("=")
    async with anonymous_client(edge) as forger:
        forger.cookies.set(name, value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB"))
        assert (await forger.get(f"/v1/conversations/{conversation}")).status_code == 404


async def test_a_call_without_a_cookie_still_gets_an_answer(edge: Stack) -> None:
    """`curl ... -d '{"message":"hello"}'` keeps working; each such call is a new anonymous client."""
    async with httpx.AsyncClient(base_url=edge.gateway_url(), timeout=30) as curl:
        response = await curl.post(
            "/v1/chat", content=b'{"message":"hello"}', headers={"content-type": "application/json"}
        )
    assert response.status_code == 200, response.text
    assert response.json()["answer"]


# ---- idempotency on the parsed body (item 7) --------------------------------------------------------


async def test_the_same_body_with_its_keys_in_another_order_replays(edge: Stack) -> None:
    key = f"retry-{uuid.uuid4()}"
    async with client_for(edge) as client:
        headers = {"content-type": "application/json", "idempotency-key": key}
        first = await client.post(
            "/v1/chat", content=b'{"message":"hello there","locale":"en"}', headers=headers
        )
        retry = await client.post(
            "/v1/chat", content=b'{ "locale" : "en",\n  "message" : "hello there" }', headers=headers
        )
    assert first.status_code == 200, first.text
    assert retry.status_code == 200, retry.text
    assert retry.headers.get("idempotent-replayed") == "true"
    assert retry.json()["turn_id"] == first.json()["turn_id"]


# ---- feedback: one event per turn, and a limit per user (item 4) ------------------------------------


async def test_twenty_ratings_of_one_turn_are_one_event_and_the_rest_is_limited(edge: Stack) -> None:
    async with client_for(edge) as client:
        answered = await client.post("/v1/chat", json={"message": FAQ_QUESTION})
        assert answered.status_code == 200, answered.text
        turn = answered.json()["turn_id"]
        await window_with_room()
        statuses = []
        for _ in range(20):
            rated = await client.post("/v1/feedback", json={"turn_id": turn, "rating": "up"})
            statuses.append(rated.status_code)
            if rated.status_code == 429:
                assert_problem(rated, 429, "rate-limited")
                assert int(rated.headers["retry-after"]) >= 1
    assert len(await events_of(edge, Topic.FEEDBACK_SUBMITTED, turn)) == 1
    assert statuses[0] == 200
    assert set(statuses) <= {200, 429}, statuses
    assert statuses.count(200) <= FEEDBACK_PER_USER, statuses


async def test_changing_a_rating_is_refused_and_publishes_nothing(edge: Stack) -> None:
    async with await web_session(edge) as visitor:
        answered = await visitor.post("/v1/chat", json={"message": FAQ_QUESTION})
        turn = answered.json()["turn_id"]
        first = await visitor.post("/v1/feedback", json={"turn_id": turn, "rating": "down"})
        same = await visitor.post("/v1/feedback", json={"turn_id": turn, "rating": "down"})
        changed = await visitor.post("/v1/feedback", json={"turn_id": turn, "rating": "up"})
        view = (await visitor.get(f"/v1/conversations/{answered.json()['conversation_id']}")).json()
    assert first.status_code == 200, first.text
    assert same.status_code == 200, same.text
    assert_problem(changed, 409, "already-rated")
    assert [t["feedback"] for t in view["turns"]] == ["down"]
    [event] = await events_of(edge, Topic.FEEDBACK_SUBMITTED, turn)
    assert event["rating"] == "down"


# ---- open handoffs capped per user and per session (item 4) -----------------------------------------


async def close_all(stack: Stack, user_id: str) -> None:
    async with operator_client(stack) as operator:
        for handoff in (await operator.get("/v1/handoffs")).json():
            if handoff["user_id"] == user_id:
                await operator.post(f"/v1/handoffs/{handoff['conversation_id']}/close")


async def open_handoffs_of(stack: Stack, user_id: str) -> list[dict[str, Any]]:
    async with operator_client(stack) as operator:
        listed = await operator.get("/v1/handoffs")
    assert listed.status_code == 200, listed.text
    return [h for h in listed.json() if h["user_id"] == user_id]


async def test_open_handoffs_are_capped_per_user(edge: Stack) -> None:
    async with client_for(edge) as client:
        try:
            escalated = []
            for _ in range(HANDOFFS_PER_USER):
                asked = await client.post("/v1/chat", json={"message": ASK_FOR_A_PERSON})
                assert asked.status_code == 200, asked.text
                assert asked.json()["escalated"], asked.text
                escalated.append(asked.json())
            user_id = await handoff_owner(edge, escalated[0]["conversation_id"])
            one_more = await client.post("/v1/chat", json={"message": ASK_FOR_A_PERSON})
            problem = assert_problem(one_more, 409, "handoff-limit")
            assert str(HANDOFFS_PER_USER) in problem["detail"]
            assert len(await open_handoffs_of(edge, user_id)) == HANDOFFS_PER_USER

            # Not locked out: the bot still answers, and the open handoffs still reach the agents.
            assert (await client.post("/v1/chat", json={"message": FAQ_QUESTION})).status_code == 200
            waiting = escalated[0]["conversation_id"]
            held = await client.post("/v1/chat", json={"message": "still there?", "conversation_id": waiting})
            assert held.status_code == 202, held.text
            assert held.json()["status"] == "handed_off", held.text
        finally:
            await close_all(edge, "local-user")


async def test_open_handoffs_are_capped_per_web_session(edge: Stack) -> None:
    async with await web_session(edge) as visitor:
        user_id = ""
        try:
            first = await visitor.post("/v1/chat", json={"message": ASK_FOR_A_PERSON})
            assert first.status_code == 200, first.text
            assert first.json()["escalated"], first.text
            user_id = await handoff_owner(edge, first.json()["conversation_id"])
            second = await visitor.post("/v1/chat", json={"message": ASK_FOR_A_PERSON})
            assert_problem(second, 409, "handoff-limit")
            assert len(await open_handoffs_of(edge, user_id)) == HANDOFFS_PER_SESSION
        finally:
            if user_id:
                await close_all(edge, user_id)


async def handoff_owner(stack: Stack, conversation_id: str) -> str:
    """The user of the conversation's handoff, once it is open (it opens just after the reply)."""

    async def owner() -> str | None:
        async with operator_client(stack) as operator:
            found = await operator.get(f"/v1/handoffs/{conversation_id}")
        return str(found.json()["user_id"]) if found.status_code == 200 else None

    user_id = await eventually(owner, timeout=10)
    assert user_id, "the escalation opens a handoff"
    return user_id


# ---- forwarded headers do not multiply a client (item 4); last: they spend loopback's budgets ------


async def test_rotating_forwarded_for_does_not_multiply_web_sessions(edge: Stack) -> None:
    await window_with_room()
    statuses = []
    async with httpx.AsyncClient(base_url=edge.gateway_url(), timeout=30) as client:
        for i in range(SESSIONS_PER_ADDRESS + 5):
            issued = await client.post("/v1/sessions", headers={"x-forwarded-for": f"198.51.100.{i + 1}"})
            statuses.append(issued.status_code)
    assert set(statuses) <= {200, 429}, statuses
    assert statuses.count(200) <= SESSIONS_PER_ADDRESS, statuses
    assert statuses[-1] == 429, statuses


async def test_rotating_forwarded_for_does_not_multiply_anonymous_chats(edge: Stack) -> None:
    await window_with_room()
    statuses = []
    async with httpx.AsyncClient(base_url=edge.gateway_url(), timeout=30) as client:
        for i in range(CHATS_PER_WINDOW + 5):
            asked = await client.post(
                "/v1/chat",
                json={"message": "hello"},
                headers={"x-forwarded-for": f"203.0.113.{i + 1}", "prefer": "respond-async"},
            )
            statuses.append(asked.status_code)
            client.cookies.clear()
    assert set(statuses) <= {200, 202, 429}, statuses
    assert len(statuses) - statuses.count(429) <= CHATS_PER_WINDOW, statuses
    assert statuses[-1] == 429, statuses
