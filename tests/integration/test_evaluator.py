"""The evaluator in the real stack: chats become evaluation records, thumbs join their turns, a split
gets per-variant numbers with a verdict, and an agent's reply becomes a published FAQ entry."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from helpdesk.events import (
    AnswerMode,
    Channel,
    ChannelRef,
    ChatAnswered,
    ChatEscalated,
    EscalationReason,
    FeedbackSubmitted,
    HandoffReplied,
    Language,
    Rating,
    Variant,
)
from helpdesk_ops.devstack import Stack
from tests.support.stack import client_for, eventually, publish

pytestmark = pytest.mark.integration


def operator_api(stack: Stack) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=stack.of("evaluator")[0].url,
        headers={"authorization": f"Bearer {stack.operator_key}"},
        timeout=10.0,
    )


def escalation_before(reply: HandoffReplied) -> ChatEscalated:
    """The escalation that opened the handoff a reply answers (a reply never comes without one)."""
    return ChatEscalated(
        turn_id=uuid.uuid4(),
        conversation_id=reply.conversation_id,
        channel=reply.channel,
        language=Language.EN,
        reason=EscalationReason.LOW_CONFIDENCE,
        question=reply.question or "",
        summary="",
        message="Connecting you with a person.",
    )


async def evaluation_of(api: httpx.AsyncClient, turn_id: str) -> dict[str, Any] | None:
    response = await api.get(f"/v1/evaluations/{turn_id}")
    return response.json() if response.status_code == 200 else None


async def test_chats_are_evaluated_and_thumbs_are_joined(stack: Stack) -> None:
    async with client_for(stack) as chat:
        answered = await chat.post("/v1/chat", json={"message": "How do I reset my password?"})
        assert answered.status_code == 200, answered.text
        body = answered.json()
        japanese = await chat.post("/v1/chat", json={"message": "パスワードを忘れました"})
        assert japanese.status_code == 200
    async with operator_api(stack) as api:
        assert (
            await api.get("/v1/evaluations/summary", headers={"authorization": "Bearer nope"})
        ).status_code == 401
        record = await eventually(lambda: evaluation_of(api, body["turn_id"]))
        assert record, "the answer must be evaluated"
        assert record["turn_id"] == body["turn_id"]
        assert record["mode"] == body.get("mode", record["mode"])
        assert "end_to_end" in record["timings_ms"]
        ja_record = await eventually(lambda: evaluation_of(api, japanese.json()["turn_id"]))
        assert ja_record
        assert ja_record["language"] == "ja"

        feedback = FeedbackSubmitted(
            turn_id=uuid.UUID(body["turn_id"]),
            conversation_id=uuid.UUID(body["conversation_id"]),
            channel=ChannelRef(channel=Channel.API, user_id="local-user"),
            rating=Rating.UP,
            comment="Thanks! write me at someone@example.com",
        )
        await publish(stack, "feedback.submitted", feedback)

        async def joined() -> dict[str, Any] | None:
            found = await evaluation_of(api, body["turn_id"])
            return found if found and found.get("feedback") else None

        rated = await eventually(joined)
        assert rated, "the rating must be joined to its turn"
        assert rated["feedback"]["rating"] == "up"
        assert rated["feedback"]["comment"] == "Thanks! write me at [EMAIL]"

        async def summarised() -> dict[str, Any] | None:
            summary = (await api.get("/v1/evaluations/summary")).json()
            return (
                summary if summary["overall"]["turns"] >= 2 and summary["overall"]["ratings"] >= 1 else None
            )

        summary = await eventually(summarised)
        assert summary
        assert summary["overall"]["thumbs_up"] >= 1
        assert summary["series"]


async def test_a_fifty_fifty_split_gets_per_variant_numbers_and_a_verdict(stack: Stack) -> None:
    now = datetime.now(UTC)
    for index in range(40):
        variant = "split-a" if index % 2 else "split-b"
        good = variant == "split-a"
        event = ChatAnswered(
            turn_id=uuid.uuid4(),
            conversation_id=uuid.uuid4(),
            channel=ChannelRef(channel=Channel.API, user_id=f"user-{index}"),
            language=Language.EN,
            question="How do I reset my password?",
            answer="Go to the self-service portal and choose Forgot password."
            if good
            else "Please try again later.",
            mode=AnswerMode.FAQ if good else AnswerMode.FALLBACK,
            cited_faq_ids=["it-password-reset"] if good else [],
            variant=Variant(name=variant, prompt="grounded@1"),
            received_at=now,
            occurred_at=now,
        )
        await publish(stack, "chat.answered", event)
        rating = FeedbackSubmitted(
            turn_id=event.turn_id,
            conversation_id=event.conversation_id,
            channel=event.channel,
            rating=Rating.UP if good else Rating.DOWN,
        )
        await publish(stack, "feedback.submitted", rating)

    async with operator_api(stack) as api:

        async def reported() -> dict[str, Any] | None:
            report = (await api.get("/v1/experiments")).json()
            arms = {arm["variant"]: arm for arm in report["arms"]}
            ready = all(
                name in arms and arms[name]["rates"]["thumbs_up_rate"]["n"] >= 20
                for name in ("split-a", "split-b")
            )
            return report if ready else None

        report = await eventually(reported, timeout=40)
        assert report, "both arms must be reported with their ratings"
        arms = {arm["variant"]: arm for arm in report["arms"]}
        assert arms["split-a"]["rates"]["thumbs_up_rate"]["value"] == 1.0
        assert arms["split-b"]["rates"]["thumbs_up_rate"]["value"] == 0.0
        assert all(arm["verdict"] for arm in report["arms"])
        page = await api.get("/v1/evaluations/summary")
        assert {"split-a", "split-b"} <= set(page.json()["variants"])


async def test_an_agents_reply_becomes_a_candidate_and_approval_publishes_it(stack: Stack) -> None:
    import redis.asyncio as aioredis

    question = f"How do I order a standing desk for office {uuid.uuid4().hex[:6]}?"
    reply = HandoffReplied(
        turn_id=uuid.uuid4(),
        conversation_id=uuid.uuid4(),
        channel=ChannelRef(channel=Channel.WEB, user_id="local-user"),
        operator_id="agent-1",
        answer=(
            "Hi! Order it in the facilities portal under Furniture; it arrives within two weeks. Regards, Sam"
        ),
        question=question,
        language=Language.EN,
    )
    await publish(stack, "chat.escalated", escalation_before(reply))
    await publish(stack, "handoff.replied", reply)
    async with operator_api(stack) as api:

        async def drafted() -> dict[str, Any] | None:
            listing = (await api.get("/v1/faq-candidates", params={"status": "pending"})).json()["candidates"]
            return next((c for c in listing if c["question"] == question), None)

        candidate = await eventually(drafted)
        assert candidate, "the reply must yield a pending candidate"
        assert (
            candidate["answer"]
            == "Order it in the facilities portal under Furniture; it arrives within two weeks."
        )
        approved = await api.post(
            f"/v1/faq-candidates/{candidate['id']}/approve", json={"category": "facilities"}
        )
        assert approved.status_code == 200, approved.text
        faq_id = approved.json()["faq_id"]

    client = aioredis.Redis.from_url(f"redis://{stack.redis_address}")
    try:

        async def published() -> bool:
            entries = await client.xrange("kb.updated")
            return any(faq_id.encode() in b"".join(fields.values()) for _, fields in entries)

        assert await eventually(published), "approval must publish kb.updated with the entry"
    finally:
        await client.aclose()

    async with client_for(stack) as chat:

        async def answered_from_it() -> dict[str, Any] | None:
            reply = (await chat.post("/v1/chat", json={"message": question})).json()
            return reply if faq_id in reply.get("citations", []) else None

        reply = await eventually(answered_from_it, timeout=30, interval=1.0)
    assert reply, "once approved, the bot must answer the same question from the new entry"
    assert reply["mode"] == "faq"
    assert "facilities portal" in reply["answer"]


async def test_the_learning_loop_through_a_real_handoff(stack: Stack) -> None:
    """A question the bot cannot answer, a request for a person, the agent's reply through the gateway's
    operator API: the evaluator drafts the unanswered question, and once approved the bot answers it."""
    marker = uuid.uuid4().hex[:6]
    question = f"Can I bring my dog {marker} to the office on Fridays?"
    operator = {"authorization": f"Bearer {stack.operator_key}"}
    async with client_for(stack) as chat:
        first = (await chat.post("/v1/chat", json={"message": question})).json()
        assert first["mode"] != "faq", first
        conversation = first["conversation_id"]
        if not first.get("escalated"):
            human = await chat.post(
                "/v1/chat", json={"message": "I want to talk to a human", "conversation_id": conversation}
            )
            assert human.json()["escalated"], human.text

        async def handoff_open() -> bool:
            return (await chat.get(f"/v1/handoffs/{conversation}", headers=operator)).status_code == 200

        assert await eventually(handoff_open), "the escalation must open a handoff"
        replied = await chat.post(
            f"/v1/handoffs/{conversation}/reply",
            json={
                "message": f"Hi! Dogs {marker} are welcome on Fridays if registered with reception. Best, Kim"
            },
            headers=operator,
        )
        assert replied.status_code == 200, replied.text

    async with operator_api(stack) as api:

        async def drafted() -> dict[str, Any] | None:
            listing = (await api.get("/v1/faq-candidates", params={"status": "pending"})).json()["candidates"]
            return next((c for c in listing if marker in c["question"]), None)

        candidate = await eventually(drafted)
        assert candidate, "the agent's reply must yield a candidate"
        assert candidate["question"] == question
        assert candidate["answer"] == f"Dogs {marker} are welcome on Fridays if registered with reception."
        approved = await api.post(f"/v1/faq-candidates/{candidate['id']}/approve")
        assert approved.status_code == 200, approved.text
        faq_id = approved.json()["faq_id"]

    async with client_for(stack) as chat:

        async def answered_from_it() -> dict[str, Any] | None:
            reply = (await chat.post("/v1/chat", json={"message": question})).json()
            return reply if faq_id in reply.get("citations", []) else None

        reply = await eventually(answered_from_it, timeout=30, interval=1.0)
    assert reply, "the bot must answer the same question from the approved entry"
    assert marker in reply["answer"]
