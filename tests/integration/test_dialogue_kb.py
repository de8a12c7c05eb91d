"""The knowledge base through the running stack: cited answers in both languages, a clarification
that the next turn resolves, an escalation, and a kb.updated that makes a new entry answerable
without restarting anything."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from helpdesk.events import KbUpdated
from helpdesk.knowledge.entries import parse_entry
from helpdesk.topics import Component, Topic, live_topic
from helpdesk_ops.devstack import Stack
from tests.support.stack import client_for, eventually, publish

pytestmark = pytest.mark.integration


async def chat(client: httpx.AsyncClient, message: str, conversation_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message}
    if conversation_id:
        body["conversation_id"] = conversation_id
    response = await client.post("/v1/chat", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_english_and_japanese_questions_get_cited_faq_answers(stack: Stack) -> None:
    async with client_for(stack) as client:
        english = await chat(client, "How do I reset my password?")
        japanese = await chat(client, "給与明細はどこで見られますか")
    assert english["status"] == "answered"
    assert english["mode"] == "faq"
    assert english["citations"] == ["it-password-reset"]
    assert english["language"] == "en"
    assert "myaccount.example.com" in english["answer"]
    assert japanese["status"] == "answered"
    assert japanese["citations"] == ["hr-payslip"]
    assert japanese["language"] == "ja"
    assert "給与明細" in japanese["answer"]


async def test_an_ambiguous_question_gets_choices_that_the_next_turn_resolves(stack: Stack) -> None:
    async with client_for(stack) as client:
        offered = await chat(client, "password")
        assert offered["mode"] == "clarify", offered
        assert 2 <= len(offered["choices"]) <= 3
        chosen = await chat(client, "2", offered["conversation_id"])
    assert chosen["mode"] == "faq"
    assert chosen["citations"] == [offered["choices"][1]["faq_id"]]


async def test_an_unknown_question_is_escalated(stack: Stack) -> None:
    async with client_for(stack) as client:
        escalated = await chat(client, "What is the status of my ticket INC0012345?")
    assert escalated["status"] == "escalated", escalated
    assert escalated["escalated"] is True
    assert escalated["answer"]


async def test_a_kb_update_makes_a_new_entry_answerable_without_a_restart(stack: Stack) -> None:
    entry = parse_entry(
        {
            "id": "it-yubikey-integration",
            "category": "accounts",
            "intents": ["mfa"],
            "owner": "it-security",
            "en": {
                "question": "How do I get a YubiKey hardware security key?",
                "alternatives": ["Order a YubiKey"],
                "answer": "Order a YubiKey in the IT portal under Security > Hardware keys.",
            },
            "ja": {
                "question": "YubiKey（ハードウェアセキュリティキー）を入手するには？",
                "answer": "ITポータルの「セキュリティ」>「ハードウェアキー」からYubiKeyを注文してください。",
            },
        }
    )
    update = KbUpdated.carrying([entry], kb_version="integration-yubikey", actor="tests").model_dump(
        mode="json"
    )
    dialogue_pids = [replica.app.pid for replica in stack.of("dialogue") if replica.app]
    # As the evaluator publishes its approvals: the durable copy and the live one.
    await publish(stack, Topic.KB_UPDATED.value, update, via="evaluator")
    await publish(
        stack, live_topic(Topic.KB_UPDATED), update, via="evaluator", pubsub=Component.BROADCAST.value
    )

    async with client_for(stack) as client:

        async def answered_from_the_new_entry() -> dict[str, Any] | None:
            body = await chat(client, "How can I get a YubiKey?")
            return body if body.get("citations") == ["it-yubikey-integration"] else None

        english = await eventually(answered_from_the_new_entry)
        japanese = await chat(client, "YubiKeyを入手したい")
    assert english, "the new entry must become answerable"
    assert english["mode"] == "faq"
    assert japanese["citations"] == ["it-yubikey-integration"]
    assert [replica.app.pid for replica in stack.of("dialogue") if replica.app] == dialogue_pids
    assert all(replica.app.alive() for replica in stack.of("dialogue") if replica.app)
