"""Model output on the web chat page is text: an answer, citation titles and snippets, links and
clarification choices full of HTML, scripts, markdown images and `javascript:` URLs render as the
characters they are, run nothing and load nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.support.web_chat_page import ChatPage, fake_reply

pytestmark = pytest.mark.e2e


HOSTILE = (
    "Try this: <img src=x onerror=\"window.__pwned='img'\"> and "
    "<script>window.__pwned='script'</script>\n"
    "![logo](/static/pwned.png) [click me](javascript:window.__pwned='link') "
    '<a href="javascript:window.__pwned=1">here</a> <iframe src="/"></iframe>'
)


def hostile_reply() -> dict[str, Any]:
    """An answer whose text, citations and choices each carry markup that must not run or load."""
    return fake_reply(
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


async def test_model_output_with_html_script_or_markdown_images_stays_text(
    chat: ChatPage, artifacts: Path
) -> None:
    page = chat.page
    answer, seen = await chat.answered_with(hostile_reply(), "show me something nasty")
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
