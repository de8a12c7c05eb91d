"""helpdeskctl against the running stack: status, flags, and a dead letter replayed end to end."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest

from helpdesk.events import Channel, ChannelRef, FeedbackSubmitted, Rating
from helpdesk.topics import AppId, Topic, dead_letter_topic
from helpdesk_ops.devstack import Stack
from tests.support.operator_cli import helpdeskctl
from tests.support.stack import client_for, eventually, publish

pytestmark = pytest.mark.integration


async def test_status_lists_every_replica_ready(stack_state: Path, stack: Stack) -> None:
    result = await asyncio.to_thread(helpdeskctl, stack_state, "status", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    for replica in stack.replicas:
        assert replica.name in result.stdout


async def test_a_dead_letter_is_listed_and_replayed_end_to_end(stack_state: Path, stack: Stack) -> None:
    async with client_for(stack) as client:
        turn = (await client.post("/v1/chat", json={"message": "How do I reset my password?"})).json()
    feedback = FeedbackSubmitted(
        turn_id=uuid.UUID(turn["turn_id"]),
        conversation_id=uuid.UUID(turn["conversation_id"]),
        channel=ChannelRef(channel=Channel.API, user_id="local-user"),
        rating=Rating.DOWN,
        comment="wrong entry",
    )
    # As the sidecar does when the evaluator gave up on a rating: the event lands in its dead-letter topic.
    await publish(stack, dead_letter_topic(AppId.EVALUATOR, Topic.FEEDBACK_SUBMITTED), feedback)

    listed = await asyncio.to_thread(helpdeskctl, stack_state, "deadletters", "list", timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert turn["turn_id"] in listed.stdout

    async with httpx.AsyncClient(
        base_url=stack.of("evaluator")[0].url, headers={"authorization": f"Bearer {stack.operator_key}"}
    ) as evaluator:

        async def rated() -> bool:
            response = await evaluator.get(f"/v1/evaluations/{turn['turn_id']}")
            feedback = response.json().get("feedback") if response.status_code == 200 else None
            return bool(feedback) and feedback.get("rating") == "down"

        assert not await rated(), "the rating is only in the dead-letter topic so far"
        replayed = await asyncio.to_thread(
            helpdeskctl,
            stack_state,
            "deadletters",
            "replay",
            "--topic",
            dead_letter_topic(AppId.EVALUATOR, Topic.FEEDBACK_SUBMITTED),
            timeout=120,
        )
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        assert await eventually(rated, timeout=20)

    after = await asyncio.to_thread(helpdeskctl, stack_state, "deadletters", "list", timeout=120)
    assert turn["turn_id"] not in after.stdout


TELESCOPE_ENTRY = """\
- id: hr-rooftop-telescope
  category: facilities
  tags: [telescope, rooftop, astronomy club]
  intents: []
  owner: facilities
  updated_at: 2026-12-04T09:00:00Z
  en:
    question: How do I borrow the rooftop telescope?
    alternatives:
      - Can I use the telescope on the roof?
    answer: >-
      Book the rooftop telescope in the facilities portal under "Rooftop"; collect the key from
      reception after 18:00 and return it the next morning.
"""


async def test_a_published_entry_is_answered_from_at_once(
    stack_state: Path, stack: Stack, tmp_path: Path
) -> None:
    entries = tmp_path / "telescope.yaml"
    entries.write_text(TELESCOPE_ENTRY, encoding="utf-8")
    published = await asyncio.to_thread(helpdeskctl, stack_state, "kb", "publish", str(entries), timeout=120)
    assert published.returncode == 0, published.stdout + published.stderr
    assert "1 added" in published.stdout

    async with client_for(stack) as client:

        async def answered_from_the_new_entry() -> bool:
            reply = (
                await client.post("/v1/chat", json={"message": "How can I borrow the rooftop telescope?"})
            ).json()
            return "hr-rooftop-telescope" in reply.get("citations", [])

        assert await eventually(answered_from_the_new_entry, timeout=20.0)
