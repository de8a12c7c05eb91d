"""The web chat page as a visitor's browser tab sees it, for the browser tests in tests/e2e/web_chat/:
the page, the visitor's session token and the browser's errors, and replies shaped like the API's for
the calls a test answers itself (`page.route`)."""

from __future__ import annotations

import contextlib
import json
import uuid
from typing import Any

import httpx
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, Route, expect

from helpdesk_ops.devstack import Stack

ANSWER_TIMEOUT_MS = 30_000


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

    async def answered_with(self, reply: dict[str, Any], message: str) -> tuple[Any, list[str]]:
        """Say `message` while every chat call is answered with `reply` (model output a test controls):
        the bot's answer, and every URL the page requests from now on (to see that nothing loads)."""
        seen: list[str] = []
        self.page.on("request", lambda r: seen.append(r.url))

        async def answered(route: Route) -> None:
            await fulfil_json(route, reply)

        await self.page.route("**/v1/chat", answered)
        await self.say(message)
        return self.bot_answers().last, seen

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
