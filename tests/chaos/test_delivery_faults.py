"""Faults in the delivery of messages, against the real stack on 127.0.0.1: a route that would 404, a
poison message, the same turn delivered again, a Teams activity replayed, handlers slower than the
broker's processing timeout. Every scenario counts its turns and asserts that none was lost and none
duplicated (tests/chaos/support.py says how they are counted).
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from helpdesk.events import Channel, ChannelRef, ChatRequested
from helpdesk_ops.devstack import Stack, load_run_file
from tests.chaos.support import (
    Turns,
    assert_no_turn_lost_or_duplicated,
    dead_lettered_turns,
    llm_mode,
    redelivered,
)
from tests.support.events import delivery_path, envelope
from tests.support.openai_server import OpenAITestServer
from tests.support.stack import client_for, eventually, publish, running_stack
from tests.support.teams import TeamsWorld

pytestmark = pytest.mark.chaos


async def test_every_subscribed_route_answers_and_none_is_a_404(chaos_stack: Stack) -> None:
    """daprd treats a 404 as "drop": a renamed route would lose traffic silently. Every route each app
    announces must answer (here: DROP for a payload that matches no contract), never 404.
    tests/contract/test_subscription_routes.py checks the same before release."""
    result = Turns(chaos_stack, "F11", "every subscribed route answers (no 404)").result
    missing = []
    token = {"dapr-api-token": chaos_stack.app_api_token}
    async with httpx.AsyncClient(timeout=10) as client:
        for replica in chaos_stack.replicas:
            table = (await client.get(f"{replica.url}/dapr/subscribe", headers=token)).json()
            for entry in table:
                result.sent += 1
                result.accepted += 1
                body = envelope({"not": "a contract"}, entry["topic"], entry["pubsubname"])
                route = delivery_path(entry)
                response = await client.post(f"{replica.url}{route}", json=body, headers=token)
                if response.status_code == 404:
                    missing.append((replica.name, route))
                else:
                    result.answered += 1
    result.lost = len(missing)
    assert missing == []


async def test_a_poison_message_is_dead_lettered_and_the_others_keep_flowing(chaos_stack: Stack) -> None:
    """A message that matches no contract, published three times among ten good chats, ends in the
    dead-letter topic; the good ones are answered once each."""
    turns = Turns(chaos_stack, "F10", "poison message among good ones")
    poison = str(uuid.uuid4())
    for _ in range(3):
        await publish(chaos_stack, "chat.requested", {"turn_id": poison, "text": ["not", "a", "string"]})
    await turns.send(10)
    result = await turns.settle(60)

    async def poisoned() -> bool:
        return poison in await dead_lettered_turns(chaos_stack)

    assert await eventually(poisoned, timeout=30), "the poison message must be in the dead-letter topic"
    result.notes["poison_dead_lettered"] = True
    assert result.answered == result.accepted == 10
    assert_no_turn_lost_or_duplicated(result)


async def test_a_turn_published_again_in_sequence_and_concurrently_is_answered_once(
    chaos_stack: Stack,
) -> None:
    """One `turn_id` published five more times after it was answered, two in sequence and three at
    once: the conversation holds one turn, the evaluator one evaluation."""
    turns = Turns(chaos_stack, "F8", "same turn_id published again, in sequence and concurrently")
    [first] = await turns.send(1, wait=True)
    body = first.json()
    request = ChatRequested(
        turn_id=uuid.UUID(body["turn_id"]),
        conversation_id=uuid.UUID(body["conversation_id"]),
        channel=ChannelRef(channel=Channel.API, user_id="local-user"),
        text="How do I reset my password?",
    )
    for _ in range(2):
        await publish(chaos_stack, "chat.requested", request)
    await asyncio.gather(*(publish(chaos_stack, "chat.requested", request) for _ in range(3)))
    await asyncio.sleep(5)
    result = await turns.settle(60)
    async with client_for(chaos_stack) as client:
        conversation = (await client.get(f"/v1/conversations/{body['conversation_id']}")).json()
    async with httpx.AsyncClient(
        base_url=chaos_stack.of("evaluator")[0].url,
        headers={"authorization": f"Bearer {chaos_stack.operator_key}"},
    ) as evaluator:
        evaluation = await evaluator.get(f"/v1/evaluations/{body['turn_id']}")
    result.notes["conversation_turns"] = len(conversation["turns"])
    assert len(conversation["turns"]) == 1
    assert evaluation.status_code == 200
    assert_no_turn_lost_or_duplicated(result)


async def test_a_teams_activity_replayed_while_in_flight_gets_one_reply(
    chaos_stack: Stack, world: TeamsWorld
) -> None:
    """The same Teams activity posted four times to both gateways while the first is still handled: each
    post is acknowledged, and the user gets one reply."""
    result = Turns(chaos_stack, "F9", "Teams activity replayed while the first is handled").result
    conversation = f"a:chaos-{uuid.uuid4().hex[:8]}"
    activity = world.activity("How do I reset my password?", conversation=conversation)

    async def post(replica: int) -> int:
        async with httpx.AsyncClient(base_url=chaos_stack.gateway_url(replica), timeout=10) as client:
            response = await client.post("/api/messages", json=activity, headers=world.auth(activity))
            return response.status_code

    statuses = await asyncio.gather(post(0), post(1), post(0))
    statuses += [await post(1)]
    result.sent, result.accepted = 1, 1
    result.notes["statuses"] = statuses

    async def replied() -> list[Any]:
        return world.connector.replies_to(conversation)

    await eventually(replied, timeout=30)
    await asyncio.sleep(5)
    replies = world.connector.replies_to(conversation)
    result.answered = min(len(replies), 1)
    result.duplicated = max(len(replies) - 1, 0)
    result.lost = 1 - result.answered
    assert statuses == [200, 200, 200, 200]
    assert len(replies) == 1


@pytest.fixture
async def impatient_stack(
    model: OpenAITestServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    """A second stack whose pub/sub hands a message out again after 2 s (processingTimeout)."""
    resources = tmp_path_factory.mktemp("impatient-components")
    for source in load_run_file().resources_path.glob("*.yaml"):
        shutil.copy(source, resources / source.name)
    pubsub = yaml.safe_load((resources / "pubsub.yaml").read_text())
    for item in pubsub["spec"]["metadata"]:
        if item["name"] == "processingTimeout":
            item["value"] = "2s"
        if item["name"] == "redeliverInterval":
            item["value"] = "500"  # milliseconds: pubsub.redis ignores duration strings here
    (resources / "pubsub.yaml").write_text(yaml.safe_dump(pubsub))
    run_file = replace(load_run_file(), resources_path=Path(resources))
    dialogue = {"OPENAI_BASE_URL": model.base_url, "HELPDESK_GENERATION__CACHE_TTL_SECONDS": "0"}
    async with running_stack(
        Path(tmp_path_factory.mktemp("impatient")),
        extra_env={"dialogue": dialogue, "gateway": {"HELPDESK_RATE_LIMIT_PER_USER": "1000000"}},
        secrets_extra={"openai-api-key": "sk-chaos"},
        run_file=run_file,
    ) as stack:
        yield stack


def redelivered_turns(stack: Stack) -> int:
    """Turns dialogue saw again after answering them (its `turn_redelivered` log lines)."""
    lines = (stack.log_dir / "dialogue-0.log").read_text(errors="replace").splitlines()
    return sum('"turn_redelivered"' in line for line in lines)


async def test_a_handler_slower_than_the_processing_timeout_answers_each_turn_once(
    impatient_stack: Stack, model: OpenAITestServer
) -> None:
    """Handlers (3 s) slower than the pub/sub `processingTimeout` (2 s), forty turns at once: the broker
    hands in-flight turns out again, and the duplicates republish the stored outcome unchanged."""
    model.reset()
    model.latency = 3.0
    await llm_mode(impatient_stack, True)
    turns = Turns(impatient_stack, "F12", "handler (3 s) slower than processingTimeout (2 s), full queue")
    await turns.send(40)
    result = await turns.settle(180)
    result.notes["model_calls"] = len(model.requests)
    result.notes["retries_answered"] = await redelivered(impatient_stack)
    model.reset()
    result.notes["redelivered_turns"] = redelivered_turns(impatient_stack)
    assert result.notes["redelivered_turns"] > 0, "the scenario must really redeliver in-flight messages"
    assert_no_turn_lost_or_duplicated(result)
