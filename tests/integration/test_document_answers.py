"""Answers from imported manuals through the running stack: two documents of the IT-manual set are
imported through the evaluator's import API (into the knowledge store, announced by kb.updated), then
dialogue answers from their passages in English and Japanese with the document, section and page in
the API's sources (each document's version reaches every replica in its own time, so each question
is asked until its document answers), FAQ questions are still answered from the FAQ, and the evaluator
scores the answer against the passage it cites. The documents are removed again at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpdesk.knowledge.entries import document_id
from helpdesk_ops.devstack import Stack
from tests.support.stack import client_for, eventually

pytestmark = pytest.mark.integration

MANUALS = Path(__file__).resolve().parents[2] / "bench" / "data" / "manuals"
IMPORTED = ("vpn-client-guide.md", "kintai-manual.md")


@pytest.fixture
async def manuals(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    operator = {"authorization": f"Bearer {stack.operator_key}"}
    async with httpx.AsyncClient(base_url=stack.of("evaluator")[0].url, headers=operator, timeout=60) as api:
        for name in IMPORTED:
            imported = await api.post(
                "/v1/knowledge/imports", files={"file": (name, (MANUALS / name).read_bytes())}
            )
            assert imported.status_code in (200, 201), imported.text
        try:
            yield api
        finally:
            for name in IMPORTED:
                await api.delete(f"/v1/knowledge/sources/{document_id(name)}")


async def chat(client: httpx.AsyncClient, message: str) -> dict[str, Any]:
    response = await client.post("/v1/chat", json={"message": message})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_imported_manuals_answer_with_their_document_section_and_page(
    stack: Stack, manuals: httpx.AsyncClient
) -> None:
    guide, manual = document_id("vpn-client-guide.md"), document_id("kintai-manual.md")
    async with client_for(stack) as client:

        async def from_the_guide() -> dict[str, Any] | None:
            body = await chat(client, "I get error 809 when I connect to the VPN at the airport")
            sources = body.get("sources") or []
            return body if sources and sources[0].get("document_id") == guide else None

        async def from_the_manual() -> dict[str, Any] | None:
            body = await chat(client, "打刻を忘れたときはどうすればいいですか")
            sources = body.get("sources") or []
            return body if sources and sources[0].get("document_id") == manual else None

        english = await eventually(from_the_guide, timeout=60)
        japanese = await eventually(from_the_manual, timeout=60)
        faq = await chat(client, "How do I reset my password?")

    assert english, "the imported guide must become answerable"
    assert english["mode"] == "faq"
    assert "SSL" in english["answer"]
    [source] = english["sources"]
    assert source["kind"] == "passage"
    assert source["title"] == "GlobalConnect VPN client guide"
    assert source["section"] == ["Troubleshooting", "Error 809: the tunnel cannot be established"]
    assert english["citations"] == [source["faq_id"]]

    assert japanese, "the imported manual must become answerable"
    [cited] = japanese["sources"]
    assert (cited["kind"], cited["title"], cited["section"]) == (
        "passage",
        "勤怠システム操作マニュアル",
        ["打刻の修正"],
    )
    assert "打刻修正申請" in japanese["answer"]

    assert faq["citations"] == ["it-password-reset"]

    async def scored() -> dict[str, Any] | None:
        response = await manuals.get(f"/v1/evaluations/{english['turn_id']}")
        return response.json() if response.status_code == 200 else None

    record = await eventually(scored, timeout=30)
    assert record, "the evaluator scores the answer"
    assert record["citation_validity"] == 1.0
    assert record["groundedness"] == 1.0
    assert record["sources"][0]["kind"] == "passage"
