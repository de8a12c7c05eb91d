"""The four files a service desk brings (issue 18's "Done when"): a FAQ sheet saved by Excel on Japanese
Windows (CSV in cp932), an English FAQ workbook (XLSX), a PDF manual and a Word guide, each with the
questions it answers and what the answer must cite. Shared by the integration, security and end-to-end
tests that import them through the running stack, and the evaluator's operator API helpers they use."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from helpdesk_ops.devstack import Stack
from tests.support.documents import FAQ_HEADER_JA, Bullets, csv_faq, docx_guide, pdf_manual, xlsx_faq


@dataclass(frozen=True)
class Question:
    text: str
    cites: str
    """The id of the FAQ entry, or the import name of the document whose passage, the answer cites."""
    says: str
    """A phrase the answer contains."""


@dataclass(frozen=True)
class KnowledgeFile:
    name: str
    data: bytes
    questions: tuple[Question, ...]


CSV_CP932 = KnowledgeFile(
    "kintai-faq.csv",
    csv_faq(
        [
            (
                "HR-KINTAI-1",
                "勤怠の打刻を忘れたときはどうすればいいですか",
                "勤怠システムの「打刻修正申請」から、上長の承認を得て修正してください。",
                "打刻漏れ|打刻を忘れた",
                "勤怠",
            ),
            (
                "HR-KINTAI-2",
                "有給休暇の残日数はどこで確認できますか",
                "勤怠システムのトップ画面にある「休暇残高」で確認できます。",
                "有休の残り",
                "勤怠",
            ),
        ],
        header=FAQ_HEADER_JA,
        encoding="cp932",
    ),
    (Question("打刻を忘れてしまいました", "HR-KINTAI-1", "打刻修正申請"),),
)
XLSX_FAQ = KnowledgeFile(
    "facilities-faq.xlsx",
    xlsx_faq(
        [
            (
                "FAC-LOCKER-1",
                "How do I get a locker in the office?",
                "Request a locker on the facilities portal under Lockers; collect the key at reception.",
                "Locker request|Where can I store my bag",
                "facilities",
            ),
            (
                "FAC-BIKE-1",
                "Where can I park my bicycle?",
                "Bicycles go in the basement bike room; register your bike at reception first.",
                "",
                "facilities",
            ),
        ]
    ),
    (Question("How can I get an office locker?", "FAC-LOCKER-1", "facilities portal"),),
)
PDF_MANUAL = KnowledgeFile(
    "zephyr-vpn-manual.pdf",
    pdf_manual(
        "Zephyr VPN client manual",
        [
            [
                (
                    "Installing the Zephyr client",
                    [
                        "Download the Zephyr installer from the software centre and run it as administrator; "
                        "restart the laptop when the installer asks for it.",
                    ],
                ),
            ],
            [
                (
                    "Connecting to the Osaka gateway",
                    [
                        "Open Zephyr, choose the Osaka gateway from the list and sign in with your badge "
                        "number; the shield icon turns green once the tunnel is up.",
                    ],
                ),
            ],
        ],
    ),
    (Question("How do I connect Zephyr to the Osaka gateway?", "zephyr-vpn-manual.pdf", "Osaka gateway"),),
)
DOCX_GUIDE = KnowledgeFile(
    "quillpad-guide.docx",
    docx_guide(
        "QuillPad tablet guide",
        [
            (
                "Pairing the QuillPad stylus",
                [
                    "Hold the stylus button for five seconds until the QuillPad shows a blue ring, "
                    "then tap Pair on the tablet.",
                ],
            ),
            (
                "Charging",
                [Bullets(["Use the magnetic dock.", "A full charge takes two hours."])],
            ),
        ],
    ),
    (Question("How do I pair the QuillPad stylus?", "quillpad-guide.docx", "blue ring"),),
)
FOUR_FILES = (CSV_CP932, XLSX_FAQ, PDF_MANUAL, DOCX_GUIDE)


@asynccontextmanager
async def operator_api(stack: Stack, key: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """The evaluator's operator API (the first replica), with the operator key unless another is given."""
    headers = {"authorization": f"Bearer {key or stack.operator_key}"}
    async with httpx.AsyncClient(
        base_url=stack.of("evaluator")[0].url, headers=headers, timeout=120
    ) as client:
        yield client


async def import_file(api: httpx.AsyncClient, file: KnowledgeFile) -> httpx.Response:
    return await api.post("/v1/knowledge/imports", params={"name": file.name}, content=file.data)


async def sources(api: httpx.AsyncClient) -> dict[str, Any]:
    response = await api.get("/v1/knowledge/sources")
    assert response.status_code == 200, response.text
    view: dict[str, Any] = response.json()
    return view


async def indexed_versions(stack: Stack) -> list[str]:
    """The knowledge version each dialogue replica answers from (its `helpdesk_kb_info` metric)."""
    versions = []
    async with httpx.AsyncClient(timeout=10) as client:
        for replica in stack.of("dialogue"):
            metrics = (await client.get(f"{replica.url}/metrics")).text
            found = re.search(r'^helpdesk_kb_info\{kb_version="([^"]+)"\} 1\.0$', metrics, re.MULTILINE)
            versions.append(found.group(1) if found else "")
    return versions
