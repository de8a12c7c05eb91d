"""The web chat page in headless Chromium (Debian's `chromium`, driven by Playwright) against the real
stack: chatting in English and Japanese, feedback, reaching a person, slow answers, and model output
that must stay text. Screenshots go to test-artifacts/ for a person to look at.

Where the real helpdesk cannot be made to say something on demand (an answer full of HTML, a handoff
the way an agent would run it), the page's calls are intercepted with `page.route` and answered with
what the API would send; everything else goes to the running gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, Request, Route, expect
from playwright.async_api import Error as PlaywrightError

from helpdesk_ops.devstack import Stack
from tests.support.browser import chromium

pytestmark = pytest.mark.e2e

ANSWER_TIMEOUT_MS = 30_000


@pytest.fixture(autouse=True)
def answers_take_their_time() -> None:
    """Expectations wait as long as an answer may take (the setting is global to Playwright, so it is
    made for each test here rather than once at import)."""
    expect.set_options(timeout=ANSWER_TIMEOUT_MS)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


class ChatPage:
    """One visitor's tab, with what the test needs to see behind the page: the visitor's session token
    (captured from POST /v1/sessions) and the browser's errors."""

    def __init__(self, page: Page, stack: Stack) -> None:
        self.page = page
        self.stack = stack
        self.token: str | None = None
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("response", self._remember_session)

    async def _remember_session(self, response: Any) -> None:
        if response.url.endswith("/v1/sessions") and response.ok:
            # A tab closed while its session response is still being read: the token no longer matters,
            # and an error raised here would surface in whichever test runs next.
            with contextlib.suppress(PlaywrightError):
                self.token = (await response.json())["token"]

    async def open(self) -> None:
        await self.page.goto(self.stack.gateway_url() + "/")
        await expect(self.page.locator("body")).to_have_attribute("data-ready", "true")

    async def say(self, text: str) -> None:
        box = self.page.get_by_role("textbox")
        await box.fill(text)
        await box.press("Enter")

    def bot_answers(self) -> Any:
        return self.page.locator("#log .message--bot")

    async def conversation(self) -> dict[str, Any]:
        """The visitor's conversation as the API shows it to them (with their own session token)."""
        turn_id = await self.bot_answers().last.get_attribute("data-turn-id")
        assert self.token
        assert turn_id
        async with httpx.AsyncClient(
            base_url=self.stack.gateway_url(), headers={"authorization": f"Bearer {self.token}"}
        ) as client:
            message = (await client.get(f"/v1/messages/{turn_id}")).json()
            response = await client.get(message["links"]["conversation"])
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
async def context(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[BrowserContext]:
    locale = getattr(request, "param", "en-US")
    created = await browser.new_context(locale=locale, viewport={"width": 900, "height": 860})
    created.set_default_timeout(ANSWER_TIMEOUT_MS)
    try:
        yield created
    finally:
        await created.close()


@pytest.fixture
async def chat(context: BrowserContext, stack: Stack) -> ChatPage:
    page = ChatPage(await context.new_page(), stack)
    await page.open()
    return page


def fake_reply(**fields: Any) -> dict[str, Any]:
    turn_id = str(uuid.uuid4())
    conversation_id = fields.pop("conversation_id", str(uuid.uuid4()))
    reply = {
        "turn_id": turn_id,
        "conversation_id": conversation_id,
        "status": "answered",
        "answer": "",
        "mode": "faq",
        "language": "en",
        "citations": [],
        "sources": [],
        "choices": [],
        "escalated": False,
        "links": {
            "self": f"/v1/messages/{turn_id}",
            "conversation": f"/v1/conversations/{conversation_id}",
        },
    }
    return reply | fields


async def fulfil_json(route: Route, body: dict[str, Any], status: int = 200) -> None:
    await route.fulfill(status=status, content_type="application/json", body=json.dumps(body))


# ---- chatting ------------------------------------------------------------------------------------


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


# ---- a person ------------------------------------------------------------------------------------


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


# ---- slow answers --------------------------------------------------------------------------------


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


# ---- A16: model output is text -------------------------------------------------------------------

HOSTILE = (
    "Try this: <img src=x onerror=\"window.__pwned='img'\"> and "
    "<script>window.__pwned='script'</script>\n"
    "![logo](/static/pwned.png) [click me](javascript:window.__pwned='link') "
    '<a href="javascript:window.__pwned=1">here</a> <iframe src="/"></iframe>'
)


async def test_model_output_with_html_script_or_markdown_images_stays_text(
    chat: ChatPage, artifacts: Path
) -> None:
    page = chat.page
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    reply = fake_reply(
        answer=HOSTILE,
        citations=["kb-1", "kb-2", "kb-3"],
        sources=[
            {
                "faq_id": "kb-1",
                "title": "<b>Reset</b> your password",
                "snippet": "<img src=/static/snippet.png onerror=\"window.__pwned='snippet'\">",
                "url": "javascript:window.__pwned='url'",
            },
            {
                "faq_id": "kb-2",
                "title": "Change your e-mail address",
                "snippet": "Open Settings, then Account.",
                "url": "https://intranet.example/faq/kb-2",
            },
        ],
        choices=[{"faq_id": "kb-9", "question": "<script>window.__pwned='choice'</script>"}],
    )

    async def hostile(route: Route) -> None:
        await fulfil_json(route, reply)

    await page.route("**/v1/chat", hostile)
    await chat.say("show me something nasty")
    answer = chat.bot_answers().last
    await expect(answer.locator(".bubble")).to_contain_text("<img src=x onerror=")
    await expect(answer.locator(".bubble")).to_contain_text("<script>window.__pwned='script'</script>")
    await expect(answer.locator(".bubble")).to_contain_text("![logo](/static/pwned.png)")
    for tag in ("img", "script", "iframe", "b", ".bubble a"):
        assert await answer.locator(tag).count() == 0, tag

    citations = answer.locator("a.citation")
    await expect(citations).to_have_count(3)
    await expect(citations.nth(0)).to_have_text("<b>Reset</b> your password")
    await expect(citations.nth(2)).to_have_text("FAQ entry kb-3")
    for index in range(3):
        assert (await citations.nth(index).get_attribute("href") or "").startswith("#cite-")
    await citations.nth(0).click()
    await expect(citations.nth(0)).to_have_attribute("aria-expanded", "true")
    first_detail = answer.locator(".citation-detail").nth(0)
    await expect(first_detail).to_be_visible()
    await expect(first_detail).to_contain_text("<img src=/static/snippet.png")
    assert await first_detail.locator("a").count() == 0, "a javascript: url never becomes a link"
    await citations.nth(1).press("Enter")
    second_detail = answer.locator(".citation-detail").nth(1)
    await expect(second_detail).to_contain_text("Open Settings, then Account.")
    await expect(second_detail.locator("a")).to_have_attribute("href", "https://intranet.example/faq/kb-2")
    await expect(
        answer.get_by_role("button", name="<script>window.__pwned='choice'</script>")
    ).to_be_visible()

    await page.wait_for_timeout(300)
    assert await page.evaluate("window.__pwned") is None
    assert not [u for u in seen if "pwned" in u or "snippet.png" in u or u.endswith("/x")]
    await page.screenshot(path=str(artifacts / "web-chat-escaping.png"))
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
