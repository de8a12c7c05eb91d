"""The evaluator keeps its per-turn records for `record_retention_seconds` only, and what operators see
over longer windows does not shrink with them: the quality, session and A/B numbers, the dashboard and
the latest turns are read from the aggregates (kept 91 days), which outlive the records.

The first test reads the TTL Redis holds on the session stack (the default retention); the second runs
a stack of its own whose evaluator keeps records for seconds, and reads every view after they are gone."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from helpdesk.events import (
    AnswerMode,
    Channel,
    ChannelRef,
    ChatAnswered,
    FeedbackSubmitted,
    Language,
    Rating,
    Variant,
)
from helpdesk_ops.devstack import Stack
from services.evaluator.quality_report import MAX_DAYS
from services.evaluator.settings import EvaluatorSettings
from tests.support.stack import client_for, eventually, publish, running_stack

pytestmark = pytest.mark.integration

SHORT_RETENTION_SECONDS = 15
PER_ARM = 6


def operator_api(stack: Stack) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=stack.of("evaluator")[0].url,
        headers={"authorization": f"Bearer {stack.operator_key}"},
        timeout=10.0,
    )


def redis_of(stack: Stack) -> aioredis.Redis:
    return aioredis.Redis.from_url(f"redis://{stack.redis_address}")


async def evaluated(api: httpx.AsyncClient, turn_id: uuid.UUID) -> dict[str, Any] | None:
    response = await api.get(f"/v1/evaluations/{turn_id}")
    return response.json() if response.status_code == 200 else None


async def test_a_turns_records_carry_the_configured_retention(stack: Stack) -> None:
    retention = EvaluatorSettings().record_retention_seconds
    async with client_for(stack) as chat:
        answered = await chat.post("/v1/chat", json={"message": "How do I reset my password?"})
        assert answered.status_code == 200, answered.text
    body = answered.json()
    async with operator_api(stack) as api:
        assert await eventually(lambda: evaluated(api, uuid.UUID(body["turn_id"])))
    client = redis_of(stack)
    try:
        kept = {
            "evaluation": await client.ttl(f"evaluator||evaluation:{body['turn_id']}"),
            "session": await client.ttl(f"evaluator||session:{body['conversation_id']}"),
        }
    finally:
        await client.aclose()
    for record, ttl in kept.items():
        assert retention - 120 < ttl <= retention, f"{record} is kept {ttl} s, not {retention} s"


@pytest.fixture(scope="module")
async def forgetful(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """An evaluator that keeps its per-turn records for seconds."""
    async with running_stack(
        tmp_path_factory.mktemp("retention-stack"),
        extra_env={"evaluator": {"HELPDESK_RECORD_RETENTION_SECONDS": str(SHORT_RETENTION_SECONDS)}},
    ) as running:
        yield running


def chat_of(variant: str, index: int) -> ChatAnswered:
    """Arm "kept-a" answers from the FAQ, arm "kept-b" falls back."""
    good = variant == "kept-a"
    now = datetime.now(UTC)
    return ChatAnswered(
        turn_id=uuid.uuid4(),
        conversation_id=uuid.uuid4(),
        channel=ChannelRef(channel=Channel.API, user_id=f"{variant}-{index}"),
        language=Language.EN,
        question="How do I reset my password?",
        answer="Go to the self-service portal and choose Forgot password." if good else "Please try later.",
        mode=AnswerMode.FAQ if good else AnswerMode.FALLBACK,
        cited_faq_ids=["it-password-reset"] if good else [],
        variant=Variant(name=variant, prompt="grounded@1"),
        received_at=now,
        occurred_at=now,
    )


async def rate_all(stack: Stack, api: httpx.AsyncClient, chats: list[ChatAnswered]) -> None:
    """Each chat, then its thumbs (up for arm a, down for b) once its evaluation exists."""
    for event in chats:
        await publish(stack, "chat.answered", event)
    for event in chats:
        assert await eventually(lambda event=event: evaluated(api, event.turn_id)), event.turn_id
        rating = Rating.UP if event.variant.name == "kept-a" else Rating.DOWN
        feedback = FeedbackSubmitted(
            turn_id=event.turn_id, conversation_id=event.conversation_id, channel=event.channel, rating=rating
        )
        await publish(stack, "feedback.submitted", feedback)


async def records_left(stack: Stack, chats: list[ChatAnswered]) -> int:
    client = redis_of(stack)
    try:
        keys = [f"evaluator||evaluation:{event.turn_id}" for event in chats]
        keys += [f"evaluator||session:{event.conversation_id}" for event in chats]
        return int(await client.exists(*keys))
    finally:
        await client.aclose()


async def test_long_window_views_outlive_the_records_they_were_counted_from(forgetful: Stack) -> None:
    chats = [chat_of(variant, index) for index in range(PER_ARM) for variant in ("kept-a", "kept-b")]
    async with operator_api(forgetful) as api:
        await rate_all(forgetful, api, chats)
        client = redis_of(forgetful)
        try:
            ttl = await client.ttl(f"evaluator||evaluation:{chats[-1].turn_id}")
        finally:
            await client.aclose()
        assert 0 < ttl <= SHORT_RETENTION_SECONDS

        async def all_rated() -> dict[str, Any] | None:
            summary = (await api.get("/v1/evaluations/summary", params={"days": MAX_DAYS})).json()
            return summary if summary["overall"]["ratings"] == len(chats) else None

        assert await eventually(all_rated, timeout=40), "every thumbs must be counted"

        async def forgotten() -> bool:
            return await records_left(forgetful, chats) == 0

        assert await eventually(forgotten, timeout=SHORT_RETENTION_SECONDS * 4), "the records must expire"
        assert await evaluated(api, chats[0].turn_id) is None

        summary = (await api.get("/v1/evaluations/summary", params={"days": MAX_DAYS})).json()
        overall, arms = summary["overall"], summary["variants"]
        assert overall["turns"] == overall["ratings"] == 2 * PER_ARM
        assert overall["thumbs_up"] == PER_ARM
        assert overall["sessions"]["conversations"] == 2 * PER_ARM
        assert arms["kept-a"]["thumbs_up_rate"] == 1.0
        assert arms["kept-b"]["thumbs_up_rate"] == 0.0
        assert arms["kept-b"]["sessions"]["resolution_rate"] == 0.0
        assert summary["granularity"] == "day"
        assert sum(point["turns"] for point in summary["series"]) == 2 * PER_ARM

        experiment = (await api.get("/v1/experiments", params={"days": MAX_DAYS})).json()
        rates = {arm["variant"]: arm["rates"]["thumbs_up_rate"] for arm in experiment["arms"]}
        assert (rates["kept-a"]["n"], rates["kept-a"]["value"]) == (PER_ARM, 1.0)
        assert (rates["kept-b"]["n"], rates["kept-b"]["value"]) == (PER_ARM, 0.0)

        latest = (await api.get("/v1/evaluations/recent")).json()["turns"]
        assert {str(event.turn_id) for event in chats} <= {turn["turn_id"] for turn in latest}

    async with httpx.AsyncClient(base_url=forgetful.of("evaluator")[0].url, timeout=10.0) as browser:
        signed = await browser.post("/dashboard/login", data={"api_key": forgetful.operator_key})
        assert signed.status_code in (200, 303)
        page = await browser.get("/dashboard", params={"days": MAX_DAYS})
    assert page.status_code == 200
    assert f"<td>kept-a</td><td>{PER_ARM}</td>" in page.text
    assert f"<td>kept-b</td><td>{PER_ARM}</td>" in page.text
