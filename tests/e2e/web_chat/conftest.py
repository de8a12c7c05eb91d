"""The browser, one context per test (English unless the test asks for a locale) and the chat page
opened in it, for the web chat tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, BrowserContext, expect

from helpdesk_ops.devstack import Stack
from tests.support.browser import chromium
from tests.support.web_chat_page import ANSWER_TIMEOUT_MS, ChatPage


@pytest.fixture(autouse=True)
def answers_take_their_time() -> None:
    """Expectations wait as long as an answer may take (the setting is global to Playwright, so it is
    made for each test here rather than once at import)."""
    expect.set_options(timeout=ANSWER_TIMEOUT_MS)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


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
