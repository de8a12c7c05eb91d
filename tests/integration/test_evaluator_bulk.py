"""The evaluator takes chat.answered in batches through a real sidecar (Dapr bulk subscribe): a burst
arrives in requests of many entries, each turn is evaluated and counted once, and an invalid entry in a
batch goes to the evaluator's dead-letter topic while the entries around it succeed."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime

import httpx
import pytest
import redis.asyncio as aioredis

from helpdesk.events import AnswerMode, Channel, ChannelRef, ChatAnswered, Language, Variant
from helpdesk.topics import AppId, Topic, dead_letter_topic
from helpdesk_ops.devstack import Stack
from tests.support.stack import eventually, publish, rejected

pytestmark = pytest.mark.integration

BURST = 40


def answer(variant: str) -> ChatAnswered:
    now = datetime.now(UTC)
    return ChatAnswered(
        turn_id=uuid.uuid4(),
        conversation_id=uuid.uuid4(),
        channel=ChannelRef(channel=Channel.API, user_id="bulk-user"),
        language=Language.EN,
        question="How do I reset my password?",
        answer="Go to the self-service portal and choose Forgot password.",
        mode=AnswerMode.FAQ,
        cited_faq_ids=["it-password-reset"],
        variant=Variant(name=variant, prompt="grounded@1"),
        received_at=now,
        occurred_at=now,
    )


async def bulk_requests(stack: Stack) -> float:
    """The bulk requests the evaluator's sidecar made to the app for chat.answered (daprd's metrics)."""
    sidecar = stack.of("evaluator")[0]
    async with httpx.AsyncClient(timeout=10) as client:
        text = (await client.get(f"http://127.0.0.1:{sidecar.metrics_port}/metrics")).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("dapr_component_pubsub_ingress_bulk_count{") and 'topic="chat.answered"' in line
    )


async def entries_handled(stack: Stack) -> float:
    """The chat.answered deliveries the evaluator settled, whatever their outcome (its own metrics)."""
    async with httpx.AsyncClient(headers={"authorization": f"Bearer {stack.operator_key}"}) as client:
        text = (await client.get(f"{stack.of('evaluator')[0].url}/metrics")).text
    pattern = re.compile(
        r'helpdesk_events_total\{(?=.*service="evaluator")(?=.*topic="chat.answered").*\} (\S+)'
    )
    return sum(float(found.group(1)) for line in text.splitlines() if (found := pattern.match(line)))


async def arm_turns(stack: Stack, variant: str) -> int:
    async with httpx.AsyncClient(
        base_url=stack.of("evaluator")[0].url,
        headers={"authorization": f"Bearer {stack.operator_key}"},
        timeout=10,
    ) as api:
        arms = {arm["variant"]: arm for arm in (await api.get("/v1/experiments")).json()["arms"]}
    return int(arms[variant]["turns"]) if variant in arms else 0


async def evaluated(stack: Stack, turn_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """The turns of `turn_ids` that have no evaluation record yet."""
    async with httpx.AsyncClient(
        base_url=stack.of("evaluator")[0].url,
        headers={"authorization": f"Bearer {stack.operator_key}"},
        timeout=10,
    ) as api:
        return [t for t in turn_ids if (await api.get(f"/v1/evaluations/{t}")).status_code != 200]


async def test_a_burst_arrives_in_batches_and_every_turn_is_evaluated_once(stack: Stack) -> None:
    variant = f"bulk-{uuid.uuid4().hex[:8]}"
    events = [answer(variant) for _ in range(BURST)]
    requests_before, entries_before = await bulk_requests(stack), await entries_handled(stack)
    await asyncio.gather(*(publish(stack, "chat.answered", event) for event in events))
    # Ten of them delivered again, as a redelivery would: evaluated and counted once all the same.
    await asyncio.gather(*(publish(stack, "chat.answered", event) for event in events[:10]))

    async def all_counted() -> bool:
        return await arm_turns(stack, variant) >= BURST

    assert await eventually(all_counted, timeout=60), "every turn of the burst must be counted"
    assert await evaluated(stack, [e.turn_id for e in events]) == []
    await asyncio.sleep(1.0)
    assert await arm_turns(stack, variant) == BURST, "each turn is counted exactly once"
    requests = await bulk_requests(stack) - requests_before
    entries = await entries_handled(stack) - entries_before
    assert entries >= BURST + 10
    assert 0 < requests < entries, "the sidecar must deliver more than one entry per request"


async def test_an_invalid_entry_is_dead_lettered_while_the_rest_of_its_batch_succeeds(stack: Stack) -> None:
    variant = f"bulk-{uuid.uuid4().hex[:8]}"
    marker = str(uuid.uuid4())
    events = [answer(variant) for _ in range(20)]
    invalid = {"turn_id": "not-a-uuid", "marker": marker}
    schema_rejections = await rejected(stack, AppId.EVALUATOR.value, Topic.CHAT_ANSWERED.value, "schema")
    publishing = [publish(stack, "chat.answered", event) for event in events]
    publishing.insert(10, publish(stack, "chat.answered", invalid))
    await asyncio.gather(*publishing)

    client = aioredis.Redis.from_url(f"redis://{stack.redis_address}")
    try:

        async def dead_lettered() -> bool:
            stream = dead_letter_topic(AppId.EVALUATOR, Topic.CHAT_ANSWERED)
            entries = await client.xrange(stream)
            return any(marker.encode() in b"".join(fields.values()) for _, fields in entries)

        assert await eventually(dead_lettered, timeout=30), "the invalid entry must be dead-lettered"
    finally:
        await client.aclose()

    async def all_counted() -> bool:
        return await arm_turns(stack, variant) >= len(events)

    assert await eventually(all_counted, timeout=60), "the valid entries of the batch must all be counted"
    assert await arm_turns(stack, variant) == len(events)
    after = await rejected(stack, AppId.EVALUATOR.value, Topic.CHAT_ANSWERED.value, "schema")
    assert after == schema_rejections + 1
