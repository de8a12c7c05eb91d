"""The web chat page in headless Chromium (Debian's `chromium`, driven by Playwright) against the real
stack: chatting in English and Japanese with feedback, clarification choices, an answer slow enough to be
polled, and a session the gateway stops accepting. Screenshots go to test-artifacts/ for a person to
look at.

Where the real helpdesk cannot be made to say something on demand, the page's calls are intercepted
with `page.route` and answered with what the API would send; everything else goes to the running
gateway.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Request, Route, expect

from tests.support.web_chat_page import ChatPage, fake_reply, fulfil_json

pytestmark = pytest.mark.e2e


async def test_chat_in_english_see_the_answer_and_give_a_thumbs_up(chat: ChatPage, artifacts: Path) -> None:
    page = chat.page
    assert await page.evaluate("document.documentElement.lang") == "en"
    await expect(page.get_by_role("button", name="Send")).to_be_enabled()

    await chat.say("hello")
    await expect(page.locator("#log .message--user").last).to_contain_text("hello")
    answer = chat.bot_answers().last
    await expect(answer.locator(".bubble")).not_to_have_text("")
    await expect(page.locator("#typing")).to_be_hidden()
    assert await answer.get_attribute("lang") == "en"
    await expect(page.get_by_role("textbox")).to_be_focused()

    await chat.say("How do I reset my password?")
    await expect(chat.bot_answers()).to_have_count(2)
    answer = chat.bot_answers().last
    conversation = await chat.conversation()
    turn = conversation["turns"][-1]
    cited = [s["title"] for s in turn["sources"]] or turn["citations"]
    await expect(answer.locator("a.citation")).to_have_count(len(cited))
    for title in cited:
        await expect(answer.locator("a.citation", has_text=title)).to_be_visible()

    thumbs_up = answer.get_by_role("button", name="This answer helped")
    await thumbs_up.click()
    await expect(thumbs_up).to_have_attribute("aria-pressed", "true")
    await expect(answer.get_by_role("button", name="This answer did not help")).to_have_attribute(
        "aria-pressed", "false"
    )
    conversation = await chat.conversation()
    assert conversation["turns"][-1]["feedback"] == "up"
    assert [t["feedback"] for t in conversation["turns"]] == [None, "up"]

    await page.screenshot(path=str(artifacts / "web-chat.png"))
    assert chat.errors == []


@pytest.mark.parametrize("context", ["ja-JP"], indirect=True)
async def test_chat_in_japanese_with_a_japanese_page(chat: ChatPage, artifacts: Path) -> None:
    page = chat.page
    assert await page.evaluate("document.documentElement.lang") == "ja"
    await expect(page.get_by_role("button", name="送信")).to_be_visible()
    await expect(page.get_by_role("button", name="担当者と話す")).to_be_visible()
    await expect(page.get_by_role("combobox", name="言語")).to_have_value("ja")

    await chat.say("こんにちは")
    answer = chat.bot_answers().last
    await expect(answer.locator(".bubble")).not_to_have_text("")
    assert await answer.get_attribute("lang") == "ja"
    await expect(answer.locator(".speaker")).to_have_text("ヘルプデスク")
    thumbs_down = answer.get_by_role("button", name="役に立たなかった")
    await thumbs_down.click()
    await expect(thumbs_down).to_have_attribute("aria-pressed", "true")
    assert (await chat.conversation())["turns"][-1]["feedback"] == "down"
    await page.screenshot(path=str(artifacts / "web-chat-ja.png"))

    # The language can be switched by hand; the choice sticks and goes with the next message.
    sent: list[dict[str, Any]] = []
    page.on("request", lambda r: sent.append(r.post_data_json) if r.url.endswith("/v1/chat") else None)
    await page.get_by_role("combobox", name="言語").select_option("en")
    await expect(page.get_by_role("button", name="Send")).to_be_visible()
    await expect(answer.locator(".speaker")).to_have_text("Helpdesk")
    assert await page.evaluate("document.documentElement.lang") == "en"
    await chat.say("hello")
    await expect(chat.bot_answers()).to_have_count(2)
    assert sent[-1]["locale"] == "en"
    await page.reload()
    await expect(page.get_by_role("button", name="Send")).to_be_visible()
    assert chat.errors == []


async def test_a_slow_answer_is_polled_until_it_arrives(chat: ChatPage) -> None:
    """The gateway answers 202 (forced with `Prefer: respond-async`); the page keeps its typing
    indicator, says when it takes long, polls the turn and shows the answer once it is there."""
    page = chat.page
    accepted: list[int] = []
    polls: list[str] = []
    hold = asyncio.Event()

    async def respond_async(route: Route, request: Request) -> None:
        response = await route.fetch(headers=await request.all_headers() | {"prefer": "respond-async"})
        accepted.append(response.status)
        await route.fulfill(response=response)

    async def slow_poll(route: Route, request: Request) -> None:
        polls.append(request.url)
        if not hold.is_set():
            turn_id = request.url.rsplit("/", 1)[-1]
            await fulfil_json(route, fake_reply(turn_id=turn_id, status="pending", answer=None, mode=None))
            return
        await route.continue_()

    await page.route("**/v1/chat", respond_async)
    await page.route("**/v1/messages/*", slow_poll)
    await chat.say("hello")
    await expect(page.locator("#typing")).to_be_visible()
    await expect(page.locator("#typing")).to_contain_text("writing an answer")
    await expect(page.locator("#typing.typing--slow")).to_contain_text("taking longer than usual")
    assert accepted == [202]
    hold.set()
    await expect(chat.bot_answers().last.locator(".bubble")).not_to_have_text("")
    await expect(page.locator("#typing")).to_be_hidden()
    assert len(polls) >= 3
    assert chat.errors == []


async def test_clarification_choices_send_the_chosen_question(chat: ChatPage) -> None:
    page = chat.page
    sent: list[str] = []
    replies = [
        fake_reply(
            mode="clarify",
            answer="Which one do you mean?",
            choices=[
                {"faq_id": "kb-1", "question": "Reset my password"},
                {"faq_id": "kb-2", "question": "Unlock my account"},
            ],
        ),
        fake_reply(answer="To unlock your account, ...", citations=["kb-2"]),
    ]

    async def answer(route: Route, request: Request) -> None:
        sent.append(request.post_data_json["message"])
        await fulfil_json(route, replies[len(sent) - 1])

    await page.route("**/v1/chat", answer)
    await chat.say("my account")
    await page.get_by_role("button", name="Unlock my account").click()
    await expect(chat.bot_answers()).to_have_count(2)
    assert sent == ["my account", "Unlock my account"]
    await expect(page.get_by_role("button", name="Reset my password")).to_be_disabled()
    assert chat.errors == []


async def test_a_session_the_gateway_no_longer_accepts_is_replaced_and_the_chat_goes_on(
    chat: ChatPage,
) -> None:
    """A token that stops working (expired while the tab slept) gets a 401: the page starts a new
    session, says that the earlier conversation has ended, and still delivers the message."""
    page = chat.page
    await chat.say("hello")
    await expect(chat.bot_answers()).to_have_count(1)
    first_token = chat.token
    refused: list[str] = []

    async def refuse_once(route: Route) -> None:
        if not refused:
            refused.append(route.request.url)
            await route.fulfill(
                status=401,
                content_type="application/problem+json",
                headers={"www-authenticate": 'Bearer realm="helpdesk"'},
                body=json.dumps({"type": "about:blank", "title": "Unauthorized", "status": 401}),
            )
            return
        await route.continue_()

    await page.route("**/v1/chat", refuse_once)
    await chat.say("hello again")
    await expect(chat.bot_answers()).to_have_count(2)
    await expect(page.get_by_role("alert")).to_have_text(
        "Your earlier conversation has ended; this is a new one."
    )
    assert refused
    assert chat.token != first_token
    conversation = await chat.conversation()
    assert [t["question"] for t in conversation["turns"]] == ["hello again"]
    # The browser reports the refused calls (the 401, then the old conversation's 404); nothing else.
    assert [re.sub(r".*status of (\d+).*", r"\1", e) for e in chat.errors] == ["401", "404"]
