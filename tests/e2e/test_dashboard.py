"""The evaluator's dashboard in headless Chromium (Debian's `chromium`, driven by Playwright) against the
real stack: chats fill it, an operator signs in with the operator key, sees the numbers, charts and the
A/B verdict, and approves a FAQ candidate. The screenshot is kept in test-artifacts/dashboard.png."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from helpdesk.events import Channel, ChannelRef, ChatEscalated, EscalationReason, HandoffReplied, Language
from helpdesk_ops.devstack import Stack
from tests.support.browser import chromium as launch_chromium
from tests.support.stack import client_for, publish

pytestmark = pytest.mark.e2e

expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
async def chromium() -> AsyncIterator[Browser]:
    async with launch_chromium() as browser:
        yield browser


async def _publish_handoff_reply(stack: Stack, question: str) -> None:
    reply = HandoffReplied(
        turn_id=uuid.uuid4(),
        conversation_id=uuid.uuid4(),
        channel=ChannelRef(channel=Channel.WEB, user_id="local-user"),
        operator_id="agent-1",
        answer="Hello, <b>bold</b> move: book it in the Rooms app under Parking. Regards, Sam",
        question=question,
        language=Language.EN,
    )
    escalation = ChatEscalated(
        turn_id=uuid.uuid4(),
        conversation_id=reply.conversation_id,
        channel=reply.channel,
        language=Language.EN,
        reason=EscalationReason.LOW_CONFIDENCE,
        question=question,
        summary="",
        message="Connecting you with a person.",
    )
    await publish(stack, "chat.escalated", escalation)
    await publish(stack, "handoff.replied", reply)


async def _turns(stack: Stack) -> int:
    async with httpx.AsyncClient(
        base_url=stack.of("evaluator")[0].url, headers={"authorization": f"Bearer {stack.operator_key}"}
    ) as api:
        summary = (await api.get("/v1/evaluations/summary")).json()
    return int(summary["overall"]["turns"])


async def _fill_with_chats(stack: Stack, question: str) -> None:
    """Four chats (one with markup), an agent's reply to `question` that becomes a FAQ candidate, and a
    short wait for the evaluator to count the chats."""
    async with client_for(stack) as chat:
        for message in (
            "hello",
            "How do I reset my password?",
            "VPNに接続できません",
            "<script>alert(1)</script>",
        ):
            response = await chat.post("/v1/chat", json={"message": message})
            assert response.status_code == 200, response.text
    await _publish_handoff_reply(stack, question)
    for _ in range(80):
        if await _turns(stack) >= 4:
            break
        await asyncio.sleep(0.25)


def _watch(page: Page) -> tuple[list[str], list[str]]:
    """The page's script and console errors, and the dialogs it opens (no script from chat text may run)."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # The refused sign-in answers 401 on purpose; Chromium logs that status as a console error.
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text) if msg.type == "error" and "status of 401" not in msg.text else None
        ),
    )
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    return errors, dialogs


async def _sign_in(page: Page, stack: Stack) -> None:
    """A key that is not an operator's is refused with an alert; then the operator key signs in."""
    evaluator = stack.of("evaluator")[0].url
    await page.goto(f"{evaluator}/")
    await expect(page.get_by_role("heading", name="Operator sign-in")).to_be_visible()
    await page.get_by_label("Operator API key").fill("not-a-key")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("not an operator key")
    await page.get_by_label("Operator API key").fill(stack.operator_key)
    await page.get_by_role("button", name="Sign in").click()


async def test_chats_fill_the_dashboard_and_an_operator_approves_a_candidate(
    stack: Stack, chromium: Browser, artifacts: Path
) -> None:
    """One operator's session from sign-in to approval, in order: each step needs the one before."""
    question = f"Where do I book a parking space {uuid.uuid4().hex[:6]}?"
    await _fill_with_chats(stack, question)
    context = await chromium.new_context(viewport={"width": 1400, "height": 1800})
    page = await context.new_page()
    errors, dialogs = _watch(page)
    try:
        await _sign_in(page, stack)

        await expect(page.get_by_text("Signed in as")).to_be_visible()
        turns = page.locator("#metric-turns strong")
        await expect(turns).not_to_have_text("0")
        assert int(await turns.inner_text()) >= 4
        await expect(page.locator("figure[data-chart='relevance'] svg")).to_be_visible()
        assert await page.locator("figure[data-chart] svg").count() == 6
        assert await page.locator("figure[data-chart='turns'] circle").count() >= 1
        await expect(page.locator("#variants tbody tr").first).not_to_contain_text("No evaluated turns")
        await expect(page.locator("#experiment")).to_contain_text("Baseline")
        await expect(page.locator("#recent")).to_contain_text("<script>alert(1)</script>")

        candidate = page.locator("form.candidate").filter(has=page.locator(f"input[value='{question}']"))
        await expect(candidate).to_have_count(1)
        await expect(candidate.locator("textarea[name='answer']")).to_have_value(
            "<b>bold</b> move: book it in the Rooms app under Parking."
        )
        await candidate.locator("textarea[name='answer']").fill("Book it in the Rooms app under Parking.")
        await page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)
        await candidate.get_by_role("button", name="Approve").click()
        await expect(
            page.locator("form.candidate").filter(has=page.locator(f"input[value='{question}']"))
        ).to_have_count(0)
        await expect(page.locator("#candidates")).to_contain_text("approved")
    finally:
        await context.close()
    assert dialogs == [], "no script from chat text may run"
    assert errors == []

    async with httpx.AsyncClient(
        base_url=stack.of("evaluator")[0].url, headers={"authorization": f"Bearer {stack.operator_key}"}
    ) as api:
        listing = (await api.get("/v1/faq-candidates", params={"status": "approved"})).json()["candidates"]
    approved = next(c for c in listing if c["question"] == question)
    assert approved["answer"] == "Book it in the Rooms app under Parking."
    assert approved["reviewed_by"] == "local-operator"
    assert approved["published"]
