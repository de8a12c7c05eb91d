"""Issue 18's "Done when", end to end: a FAQ sheet in cp932, an XLSX FAQ, a PDF manual and a DOCX guide
imported on the running stack are answered from, with their citations, in the API and in the web chat
(an FAQ answer cites its entry; a passage answer names its document, section and, from a PDF, page)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from helpdesk.knowledge.entries import document_id
from helpdesk_ops.devstack import Stack
from tests.support.browser import chromium
from tests.support.imported_knowledge import (
    DOCX_GUIDE,
    FOUR_FILES,
    PDF_MANUAL,
    KnowledgeFile,
    Question,
    import_file,
    indexed_versions,
    operator_api,
)
from tests.support.stack import client_for, eventually
from tests.support.web_chat_page import ANSWER_TIMEOUT_MS, ChatPage

pytestmark = pytest.mark.e2e

SECTIONS = {
    PDF_MANUAL.name: ("Connecting to the Osaka gateway", 2),
    DOCX_GUIDE.name: ("Pairing the QuillPad stylus", None),
}
"""Where each document's answer comes from: its section, and its page (PDF only)."""


@pytest.fixture(scope="module")
async def imported(stack: Stack) -> AsyncIterator[str]:
    """The four files imported through the operator API; the knowledge version every replica indexes.
    They are removed again afterwards: the stack is shared, and later tests expect its knowledge base
    without these files (one of them answers a question an imported manual answers too)."""
    async with operator_api(stack) as api:
        documents = []
        for file in FOUR_FILES:
            response = await import_file(api, file)
            assert response.status_code == 200, response.text
            assert response.json()["outcome"] in ("imported", "unchanged")
            documents.append(response.json()["document_id"])
        version: str = (await api.get("/v1/knowledge/sources")).json()["kb_version"]

        async def indexed() -> bool:
            return all(v == version for v in await indexed_versions(stack))

        assert await eventually(indexed, timeout=30)
        try:
            yield version
        finally:
            for document in documents:
                await api.delete(f"/v1/knowledge/sources/{document}")


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


def cases() -> list[tuple[KnowledgeFile, Question]]:
    return [(file, question) for file in FOUR_FILES for question in file.questions]


def cited_source(file: KnowledgeFile, question: Question, answer: dict[str, Any]) -> dict[str, Any]:
    """The source the answer cites for this question: the FAQ entry, or a passage of the document."""
    sources: list[dict[str, Any]] = answer["sources"]
    if file.name in SECTIONS:
        document = document_id(file.name)
        found = [s for s in sources if s.get("document_id") == document]
    else:
        found = [s for s in sources if s["faq_id"] == question.cites]
    assert found, answer
    return found[0]


@pytest.mark.parametrize(
    ("file", "question"), cases(), ids=lambda c: getattr(c, "name", getattr(c, "text", ""))
)
async def test_each_imported_file_is_answered_from_with_its_citation_in_the_api(
    stack: Stack, imported: str, file: KnowledgeFile, question: Question
) -> None:
    async with client_for(stack) as client:
        response = await client.post("/v1/chat", json={"message": question.text})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "answered", answer
    assert question.says in answer["answer"]
    source = cited_source(file, question, answer)
    assert answer["citations"][0] == source["faq_id"]
    if file.name in SECTIONS:
        section, page = SECTIONS[file.name]
        assert source["kind"] == "passage"
        assert source["section"] == [section]
        assert source.get("page") == page
        assert source["faq_id"].startswith(document_id(file.name) + "~")


@pytest.mark.parametrize(
    ("file", "question"), cases(), ids=lambda c: getattr(c, "name", getattr(c, "text", ""))
)
async def test_each_imported_file_is_answered_from_with_its_citation_in_the_web_chat(
    stack: Stack, imported: str, browser: Browser, file: KnowledgeFile, question: Question, artifacts: Path
) -> None:
    context = await browser.new_context(locale="en-US", viewport={"width": 900, "height": 860})
    context.set_default_timeout(ANSWER_TIMEOUT_MS)
    try:
        chat = ChatPage(await context.new_page(), stack)
        await chat.open()
        await chat.say(question.text)
        answer = chat.bot_answers().last
        await expect(answer).to_contain_text(question.says, timeout=ANSWER_TIMEOUT_MS)
        citation = answer.locator("a.citation").first
        if file.name in SECTIONS:
            section, page = SECTIONS[file.name]
            await expect(citation).to_have_attribute("data-kind", "passage")
            where = answer.locator(".citation-where").first
            await expect(where).to_contain_text(section)
            if page is not None:
                await expect(where).to_contain_text(f"p. {page}")
        else:
            await expect(citation).to_be_visible()
        await chat.page.screenshot(path=str(artifacts / f"imported-{file.name}.png"))
        assert chat.errors == []
    finally:
        await context.close()
