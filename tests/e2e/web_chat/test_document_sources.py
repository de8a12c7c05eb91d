"""An answer from a document on the web chat page: the source shows the document's title, its section
path and page, opens the document only when its link is a web address, and stays text whatever the
document's headings hold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.support.web_chat_page import ChatPage, fake_reply

pytestmark = pytest.mark.e2e

VPN = "vpn-client-guide-4a96b27356~0123456789abcdef"
KINTAI = "kintai-manual-3ab9aa1f02~fedcba9876543210"


def document_reply() -> dict[str, Any]:
    return fake_reply(
        answer="Switch the client to SSL mode.\n\nSource: GlobalConnect VPN client guide › Troubleshooting",
        citations=[VPN, KINTAI],
        sources=[
            {
                "faq_id": VPN,
                "kind": "passage",
                "title": "GlobalConnect VPN client guide",
                "section": ["Troubleshooting", "Error 809"],
                "page": 4,
                "document_id": "vpn-client-guide-4a96b27356",
                "snippet": "Error 809 means the network blocks the IKE ports.",
                "url": "https://intranet.example.com/guides/vpn-client",
            },
            {
                "faq_id": KINTAI,
                "kind": "passage",
                "title": "<b>勤怠</b>システム",
                "section": ["<img src=/static/section.png onerror=\"window.__pwned='section'\">"],
                "snippet": "打刻修正申請",
                "url": "javascript:window.__pwned='url'",
            },
        ],
    )


async def test_a_passage_source_shows_document_section_and_page_as_text(
    chat: ChatPage, artifacts: Path
) -> None:
    page = chat.page
    answer, seen = await chat.answered_with(document_reply(), "error 809 at the hotel")

    citations = answer.locator("a.citation")
    await expect(citations).to_have_count(2)
    await expect(citations.nth(0)).to_have_text("GlobalConnect VPN client guide")
    await expect(citations.nth(0)).to_have_attribute("data-kind", "passage")
    where = answer.locator(".citation-where")
    await expect(where.nth(0)).to_have_text("Troubleshooting › Error 809 · p. 4")
    await citations.nth(0).click()
    detail = answer.locator(".citation-detail").nth(0)
    await expect(detail).to_contain_text("Error 809 means the network blocks the IKE ports.")
    await expect(detail.locator("a")).to_have_text("Open the document")
    await expect(detail.locator("a")).to_have_attribute(
        "href", "https://intranet.example.com/guides/vpn-client"
    )

    await expect(citations.nth(1)).to_have_text("<b>勤怠</b>システム")
    await expect(where.nth(1)).to_have_text(
        "<img src=/static/section.png onerror=\"window.__pwned='section'\">"
    )
    await citations.nth(1).click()
    assert await answer.locator(".citation-detail").nth(1).locator("a").count() == 0
    for tag in ("img", "b"):
        assert await answer.locator(f".sources {tag}").count() == 0, tag

    await page.wait_for_timeout(300)
    assert await page.evaluate("window.__pwned") is None
    assert not [u for u in seen if "section.png" in u]
    await page.screenshot(path=str(artifacts / "web-chat-document-sources.png"))
    assert chat.errors == []
