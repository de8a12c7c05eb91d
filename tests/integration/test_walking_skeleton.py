"""A chat turn through the real runtime: gateway -> nlp -> dialogue -> gateway, over real daprd sidecars."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from helpdesk_ops.devstack import Stack
from tests.support.events import chat_requested, envelope
from tests.support.stack import client_for, eventually, log_records, publish

pytestmark = pytest.mark.integration


async def test_hello_crosses_all_four_services_under_one_trace(stack: Stack) -> None:
    async with client_for(stack) as client:
        response = await client.post("/v1/chat", json={"message": "hello"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "answered"
    assert body["answer"]
    assert body["language"] == "en"
    turn_id = body["turn_id"]

    async def seen_everywhere() -> dict[str, set[str]]:
        traces: dict[str, set[str]] = {}
        for service in ("gateway", "nlp", "dialogue"):
            found = {
                str(line["trace_id"])
                for line in log_records(stack, service)
                if line.get("turn_id") == turn_id and "trace_id" in line
            }
            traces[service] = found
        return traces if all(traces.values()) else {}

    traces = await eventually(seen_everywhere)
    assert traces, "the turn must appear in the logs of gateway, nlp, dialogue and evaluator"
    all_ids = set().union(*traces.values())
    assert len(all_ids) == 1, f"one turn, one trace: {traces}"


async def test_japanese_is_answered_in_japanese(stack: Stack) -> None:
    async with client_for(stack) as client:
        response = await client.post("/v1/chat", json={"message": "こんにちは"})
    assert response.status_code == 200
    assert response.json()["language"] == "ja"


async def test_respond_async_returns_202_and_the_answer_can_be_polled(stack: Stack) -> None:
    async with client_for(stack) as client:
        accepted = await client.post(
            "/v1/chat", json={"message": "hello"}, headers={"Prefer": "respond-async"}
        )
        assert accepted.status_code == 202
        location = accepted.headers["location"]
        assert location == f"/v1/messages/{accepted.json()['turn_id']}"

        async def answered() -> dict[str, object] | None:
            polled = await client.get(location)
            assert polled.status_code == 200
            body: dict[str, object] = polled.json()
            return body if body["status"] == "answered" else None

        body = await eventually(answered)
    assert body
    assert body["answer"]


async def test_answers_reach_the_waiting_replica_whichever_replica_stores_them(stack: Stack) -> None:
    """Each gateway replica holds its own waiting requests; the competing subscription that stores an
    answer is on either replica. Every request on both replicas must still get its answer in time."""
    assert len(stack.of("gateway")) == 2
    clients = [client_for(stack, 0), client_for(stack, 1)]
    try:
        requests = [clients[i % 2].post("/v1/chat", json={"message": "hello"}) for i in range(20)]
        responses = await asyncio.gather(*requests)
        assert [r.status_code for r in responses] == [200] * 20, [
            r.text[:200] for r in responses if r.status_code != 200
        ]
        # The answer is stored once and visible from either replica.
        turn_id = responses[0].json()["turn_id"]
        for client in clients:
            polled = await client.get(f"/v1/messages/{turn_id}")
            assert polled.json()["status"] == "answered"
    finally:
        for client in clients:
            await client.aclose()


async def test_a_subscription_call_without_the_app_token_is_refused(stack: Stack) -> None:
    nlp = stack.of("nlp")[0]
    event = envelope(chat_requested("hello"), "chat.requested")
    async with httpx.AsyncClient(base_url=nlp.url) as client:
        refused = await client.post("/events/pubsub/chat.requested", json=event)
        listing = await client.get("/dapr/subscribe")
        wrong = await client.post(
            "/events/pubsub/chat.requested", json=event, headers={"dapr-api-token": "not-the-token"}
        )
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "www-authenticate" in refused.headers
    assert listing.status_code == 401
    assert wrong.status_code == 401


async def test_an_event_with_an_invalid_schema_is_dead_lettered_not_lost(stack: Stack) -> None:
    import redis.asyncio as aioredis

    marker = str(uuid.uuid4())
    await publish(stack, "chat.requested", {"turn_id": "not-a-uuid", "marker": marker})

    client = aioredis.Redis.from_url(f"redis://{stack.redis_address}")
    try:

        async def dead_lettered() -> bool:
            entries = await client.xrange("deadletter.nlp.chat.requested")
            return any(marker.encode() in b"".join(v for v in fields.values()) for _, fields in entries)

        assert await eventually(dead_lettered), "the invalid event must land in nlp's dead-letter topic"
    finally:
        await client.aclose()


async def test_a_redelivered_request_yields_no_second_answer(stack: Stack) -> None:
    async with client_for(stack) as client:
        first = await client.post("/v1/chat", json={"message": "hello"})
        body = first.json()
        conversation = await client.get(f"/v1/conversations/{body['conversation_id']}")
        assert len(conversation.json()["turns"]) == 1

    duplicate = chat_requested(
        "hello",
        turn_id=uuid.UUID(body["turn_id"]),
        conversation_id=uuid.UUID(body["conversation_id"]),
    ).model_copy(update={"channel": chat_requested().channel.model_copy(update={"user_id": "anonymous"})})
    for _ in range(2):
        await publish(stack, "chat.requested", duplicate)
    await asyncio.sleep(2.0)
    async with client_for(stack) as client:
        conversation = await client.get(f"/v1/conversations/{body['conversation_id']}")
        polled = await client.get(f"/v1/messages/{body['turn_id']}")
    assert len(conversation.json()["turns"]) == 1
    assert polled.json()["answer"] == body["answer"]
