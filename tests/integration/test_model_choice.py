"""answer_mode faq_model_choice through the running stack (gateway, nlp, dialogue and their sidecars,
Redis), with the local OpenAI-compatible server as the model: a question the policy clarifies gets the
FAQ entry the model picks, as written, or the clarification when the model picks none, names an entry
not offered, fails or is too slow. No turn is lost either way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from helpdesk.events import Language
from helpdesk.knowledge.entries import FaqEntry
from helpdesk_ops.devstack import Stack
from services.dialogue.public import seed_knowledge
from tests.support.openai_server import OpenAITestServer, Scripts
from tests.support.stack import answer_to, client_for, eventually, metric_total, model_stack

pytestmark = pytest.mark.integration

KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"
AMBIGUOUS = "password"
"""Clarified by the policy over the default knowledge base with two or three choices."""


@pytest.fixture(scope="module")
async def choice_stack(
    openai_server: OpenAITestServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    async with model_stack(
        Path(tmp_path_factory.mktemp("model-choice-stack")),
        openai_server.base_url,
        "faq_model_choice",
        {
            "HELPDESK_GENERATION__DEADLINE_SECONDS": "4",
            "HELPDESK_LLM__TIMEOUT_SECONDS": "2",
            "HELPDESK_LLM__MAX_RETRIES": "1",
        },
    ) as stack:
        yield stack


async def asked_the_model(stack: Stack, server: OpenAITestServer) -> dict[str, Any]:
    """The reply to the ambiguous question once the flag has reached dialogue (the model was asked)."""

    async def ask() -> dict[str, Any] | None:
        server.requests.clear()
        body = await answer_to(stack, AMBIGUOUS)
        return body if server.requests else None

    body = await eventually(ask, timeout=60, interval=1)
    assert body is not None, "the model was never asked: is answer_mode faq_model_choice?"
    return body


def answer_of(entry_id: str) -> str:
    entry = seed_knowledge(KNOWLEDGE).entries[entry_id]
    assert isinstance(entry, FaqEntry)
    return entry.text(Language.EN).answer


async def test_the_entry_the_model_picks_is_the_answer_as_written(
    choice_stack: Stack, openai_server: OpenAITestServer
) -> None:
    openai_server.reset()
    openai_server.script = Scripts.picks_first
    before = await metric_total(
        choice_stack, "dialogue", 'helpdesk_dialogue_decisions_total{reason="model_chosen"}'
    )

    body = await asked_the_model(choice_stack, openai_server)

    [request] = openai_server.requests
    picked = request.faq_ids[0]
    assert 2 <= len(request.faq_ids) <= 3
    assert request.body["temperature"] == 0.0
    assert body["status"] == "answered"
    assert body["mode"] == "faq", body
    assert body["answer"] == answer_of(picked)
    assert body["citations"] == [picked]
    assert not body.get("choices")
    after = await metric_total(
        choice_stack, "dialogue", 'helpdesk_dialogue_decisions_total{reason="model_chosen"}'
    )
    assert after >= before + 1


@pytest.mark.parametrize("pick", ["none", "not-offered"])
async def test_no_pick_or_an_entry_not_offered_gives_the_clarification(
    choice_stack: Stack, openai_server: OpenAITestServer, pick: str
) -> None:
    openai_server.reset()
    openai_server.script = Scripts.picks_none if pick == "none" else Scripts.picks_unoffered

    body = await asked_the_model(choice_stack, openai_server)

    offered = openai_server.requests[0].faq_ids
    assert body["mode"] == "clarify", body
    assert [c["faq_id"] for c in body["choices"]] == offered


@pytest.mark.parametrize("failure", ["500", "timeout"])
async def test_a_failing_or_slow_model_gives_the_clarification_and_the_turn_is_answered(
    choice_stack: Stack, openai_server: OpenAITestServer, failure: str
) -> None:
    openai_server.reset()
    openai_server.script = Scripts.picks_first
    if failure == "500":
        openai_server.fail_always(500)
    else:
        openai_server.latency = 30

    body = await asked_the_model(choice_stack, openai_server)

    assert body["status"] == "answered", body
    assert body["mode"] == "clarify", body
    assert 2 <= len(body["choices"]) <= 3
    openai_server.reset()


async def test_a_clarification_kept_is_still_resolved_by_the_user(
    choice_stack: Stack, openai_server: OpenAITestServer
) -> None:
    openai_server.reset()
    openai_server.script = Scripts.picks_none
    offered = await asked_the_model(choice_stack, openai_server)
    async with client_for(choice_stack) as client:
        response = await client.post(
            "/v1/chat", json={"message": "2", "conversation_id": offered["conversation_id"]}
        )
    chosen = response.json()
    assert chosen["mode"] == "faq", chosen
    assert chosen["citations"] == [offered["choices"][1]["faq_id"]]
