"""Reaching a person from the web chat page: the button's request to the real helpdesk, and the page's
side of a handoff (queue, the agent's messages, closing) with the gateway's answers played back."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Request, Route, expect

from tests.support.web_chat_page import ChatPage, fake_reply, fulfil_json

pytestmark = pytest.mark.e2e


async def test_talk_to_a_person_sends_the_request_to_the_real_helpdesk(chat: ChatPage) -> None:
    """The button sends the request in the page's language; what follows is the dialogue's decision.
    While dialogue does not escalate on `human_agent`, the page shows its answer and no handoff."""
    page = chat.page
    await page.get_by_role("button", name="Talk to a person").click()
    await expect(page.locator("#log .message--user").last).to_have_text(re.compile("talk to a person"))
    answer = chat.bot_answers().last
    await expect(answer.locator(".bubble")).not_to_have_text("")
    turn = (await chat.conversation())["turns"][-1]
    if turn["status"] != "escalated":
        await expect(page.locator("#handoff")).to_be_hidden()
        await expect(page.get_by_role("button", name="Talk to a person")).to_be_enabled()
        pytest.xfail("dialogue does not escalate on the human_agent intent yet; the page showed its answer")
    await expect(page.locator("#handoff")).to_have_attribute("data-status", re.compile("open|connecting"))
    await expect(page.locator("#handoff")).to_have_attribute("data-status", "open")
    await expect(page.get_by_role("button", name="Talk to a person")).to_be_disabled()

    conversation_id = (await chat.conversation())["conversation_id"]
    operator = {"authorization": f"Bearer {chat.stack.operator_key}"}
    async with httpx.AsyncClient(base_url=chat.stack.gateway_url(), headers=operator) as client:
        replied = await client.post(
            f"/v1/handoffs/{conversation_id}/reply", json={"message": "Hi, this is Sam from support."}
        )
        assert replied.status_code == 200, replied.text
        await expect(page.locator("#log .message--agent")).to_contain_text("Sam from support")
        await expect(page.locator("#handoff")).to_have_attribute("data-status", "active")
        closed = await client.post(f"/v1/handoffs/{conversation_id}/close")
        assert closed.status_code == 200, closed.text
    await expect(page.locator("#handoff")).to_have_attribute("data-status", "closed")
    await expect(page.get_by_role("button", name="Talk to a person")).to_be_enabled()


async def test_the_handoff_status_and_the_agents_messages_follow_the_conversation(
    chat: ChatPage, artifacts: Path
) -> None:
    """The page's side of a handoff, with the gateway's answers played back: an escalation, a queue,
    a person who writes (in HTML that must stay text), and the handoff closing."""
    page = chat.page
    conversation_id = str(uuid.uuid4())
    escalated = fake_reply(
        conversation_id=conversation_id,
        status="escalated",
        mode="handoff",
        escalated=True,
        answer="I'm handing you over to a person. They will reply here.",
    )
    timeline: dict[str, Any] = {"handoff": None, "agent_messages": []}
    requested: list[dict[str, Any]] = []

    async def on_chat(route: Route, request: Request) -> None:
        requested.append(request.post_data_json)
        await fulfil_json(route, escalated)

    async def on_conversation(route: Route) -> None:
        await fulfil_json(route, {"conversation_id": conversation_id, "turns": []} | timeline)

    await page.route("**/v1/chat", on_chat)
    await page.route(f"**/v1/conversations/{conversation_id}", on_conversation)

    await page.get_by_role("button", name="Talk to a person").click()
    assert requested[-1]["message"] == "I'd like to talk to a person"
    assert requested[-1]["locale"] == "en"
    await expect(page.locator("#handoff")).to_have_attribute("data-status", "connecting")
    await expect(page.get_by_role("button", name="Talk to a person")).to_be_disabled()
    await expect(page.get_by_role("textbox")).to_be_focused()

    opened_at = "2026-11-22T10:00:00Z"
    timeline["handoff"] = {"status": "open", "opened_at": opened_at, "closed_at": None}
    await expect(page.locator("#handoff")).to_have_attribute("data-status", "open")
    await expect(page.locator("#handoff")).to_contain_text("waiting for a person")

    timeline["agent_messages"] = [
        {"id": str(uuid.uuid4()), "text": "Hi, I'm Sam.\n<b>How</b> can I help?", "at": opened_at}
    ]
    agent = page.locator("#log .message--agent")
    await expect(agent).to_have_count(1)
    await expect(agent.locator(".bubble")).to_contain_text("<b>How</b> can I help?")
    assert await agent.locator("b").count() == 0
    await expect(agent.locator(".speaker")).to_have_text("Support agent")
    await expect(page.locator("#handoff")).to_have_attribute("data-status", "active")
    await page.screenshot(path=str(artifacts / "web-chat-handoff.png"))

    timeline["handoff"] = {"status": "closed", "opened_at": opened_at, "closed_at": opened_at}
    await expect(page.locator("#handoff")).to_have_attribute("data-status", "closed")
    await expect(page.get_by_role("button", name="Talk to a person")).to_be_enabled()
    await expect(agent).to_have_count(1)
    assert chat.errors == []
