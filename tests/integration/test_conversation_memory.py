"""Conversations dialogue kept before the events had bounds, read back from the real state store: a
pending clarification with texts longer than today's bounds is shortened and the user's pick answered;
one that cannot be repaired is dropped with a warning and the turn answered as a new question. Neither
turn is dead-lettered."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from helpdesk.dapr.sidecar import Sidecar
from helpdesk.dapr.state import DaprStateStore
from helpdesk.events import MAX_CHOICE_CHARS, MAX_FAQ_ID_CHARS, MAX_MESSAGE_CHARS
from helpdesk.settings import ServiceSettings
from helpdesk_ops.devstack import Stack
from services.dialogue.settings import DialogueSettings
from tests.support.stack import client_for, eventually, log_records

pytestmark = pytest.mark.integration


async def overwrite_memory(stack: Stack, conversation_id: str, clarification: dict[str, Any]) -> None:
    """Dialogue's memory of the conversation replaced, through dialogue's own sidecar, by a record as
    dialogue wrote it before the bounds: a clarifying turn and its pending clarification (written with
    the etag of the memory there, as dialogue creates it first-write)."""
    asked_in = str(uuid.uuid4())
    record = {
        "conversation_id": conversation_id,
        "user_id": "local-user",
        "language": "en",
        "turns": [{"turn_id": asked_in, "question": "q" * 6000, "answer": "Which one?", "mode": "clarify"}],
        "clarification": {"asked_in": asked_in, **clarification},
        "outcomes": [],
        "answered_turn_ids": [asked_in],
    }
    replica = stack.of("dialogue")[0]
    sidecar = Sidecar(
        ServiceSettings(DAPR_HTTP_PORT=replica.dapr_http_port, DAPR_API_TOKEN=stack.dapr_api_token), []
    )
    key = f"conversation:{conversation_id}"
    try:
        state = DaprStateStore(sidecar)
        answered = await state.get(key)
        assert answered is not None, "dialogue remembers the conversation's first turn"
        await state.save(
            key,
            json.dumps(record).encode(),
            etag=answered.etag,
            ttl_seconds=DialogueSettings().conversation_ttl_seconds,
        )
    finally:
        await sidecar.close()


async def stored_before_the_bounds(
    client: httpx.AsyncClient, stack: Stack, clarification: dict[str, Any]
) -> str:
    """A conversation whose stored memory then holds `clarification` as pending, as a record written
    before the bounds could hold it."""
    first = await client.post("/v1/chat", json={"message": "How do I reset my password?"})
    assert first.status_code == 200, first.text
    conversation_id: str = first.json()["conversation_id"]
    await overwrite_memory(stack, conversation_id, clarification)
    return conversation_id


async def test_a_pending_clarification_kept_before_the_bounds_is_shortened_and_the_pick_answered(
    stack: Stack,
) -> None:
    async with client_for(stack) as client:
        conversation_id = await stored_before_the_bounds(
            client,
            stack,
            {
                "question": "Q" * (MAX_MESSAGE_CHARS + 2000),
                "choices": [
                    {"faq_id": "hr-payday", "question": "D" * (MAX_CHOICE_CHARS + 500)},
                    {"faq_id": "it-password-reset", "question": "P" * (MAX_CHOICE_CHARS + 500)},
                ],
            },
        )
        picked = await client.post(
            "/v1/chat", json={"message": "the first one", "conversation_id": conversation_id}
        )
    assert picked.status_code == 200, picked.text
    body = picked.json()
    assert body["status"] == "answered"
    assert body["mode"] == "faq"
    assert body["citations"] == ["hr-payday"]


async def test_a_pending_clarification_that_cannot_be_repaired_is_dropped_and_the_turn_answered(
    stack: Stack,
) -> None:
    async with client_for(stack) as client:
        conversation_id = await stored_before_the_bounds(
            client,
            stack,
            {
                "question": "secret words",
                "choices": [{"faq_id": "x" * (MAX_FAQ_ID_CHARS + 1), "question": "secret words"}],
            },
        )
        asked = await client.post(
            "/v1/chat", json={"message": "When is payday?", "conversation_id": conversation_id}
        )
    assert asked.status_code == 200, asked.text
    body = asked.json()
    assert body["status"] == "answered"
    assert body["citations"] == ["hr-payday"]

    async def warned() -> list[dict[str, Any]]:
        return [
            line
            for line in log_records(stack, "dialogue")
            if line.get("event") == "stored_clarification_dropped"
            and line.get("conversation_id") == conversation_id
        ]

    [warning] = await eventually(warned)
    assert warning["level"] == "warning"
    assert "secret" not in json.dumps(warning)
