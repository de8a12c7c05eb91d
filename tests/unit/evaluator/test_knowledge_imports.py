"""The evaluator's knowledge sources in process: importing through the operator API (multipart and raw
bodies), what a re-import and a refused file do (nothing), listing and removing sources, and who may."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from helpdesk.events import KbUpdated
from helpdesk.knowledge.entries import FaqEntry, Passage
from helpdesk.knowledge.store import KnowledgeStore
from helpdesk.knowledge.versions import LoadedKnowledge
from helpdesk.memory_ports import MemoryBus, MemoryStateStore, memory_runtime
from helpdesk_ops.seed import local_secrets
from services.evaluator.app import create_app
from services.evaluator.settings import EvaluatorSettings
from tests.support.documents import FAQ_HEADER_JA, Bullets, corrupt_pdf, csv_faq, markdown_guide

OPERATOR_KEY = "hdop_test-operator-key"
USER_KEY = "hd_test-user-key"
OPERATOR = {"authorization": f"Bearer {OPERATOR_KEY}"}

FAQ_CP932 = csv_faq(
    [
        ("IT-1", "パスワードを忘れました", "ポータルの「パスワードを忘れた」から再設定。", "", "アカウント"),
        ("IT-2", "VPNにつながらない", "VPNクライアントを再起動してください。", "", "ネットワーク"),
    ],
    header=FAQ_HEADER_JA,
    encoding="cp932",
)
GUIDE = markdown_guide(
    "Printer guide",
    [
        ("Adding a printer", ["Open Settings, choose Printers and press Add; pick the floor's printer."]),
        ("Jams", [Bullets(["Open tray 2.", "Remove the paper.", "Close the tray."])]),
    ],
)


class Evaluator:
    def __init__(self, client: TestClient, bus: MemoryBus, knowledge: MemoryStateStore) -> None:
        self.client = client
        self.bus = bus
        self.knowledge = knowledge

    def loaded(self) -> LoadedKnowledge:
        loaded = asyncio.run(KnowledgeStore(self.knowledge).load())
        assert loaded is not None
        return loaded

    def updates(self) -> list[KbUpdated]:
        return [e for e in self.bus.of(KbUpdated) if isinstance(e, KbUpdated)]


@pytest.fixture
def evaluator(tmp_path: Path) -> Iterator[Evaluator]:
    (tmp_path / "faq.yaml").write_text(
        "- id: password-reset\n  en:\n    question: How do I reset my password?\n"
        "    answer: Use the portal.\n",
        encoding="utf-8",
    )
    bus, knowledge = MemoryBus(), MemoryStateStore()
    runtime = memory_runtime(
        "evaluator", secrets=local_secrets(USER_KEY, OPERATOR_KEY), bus=bus, knowledge=knowledge
    )
    settings = EvaluatorSettings(knowledge_path=str(tmp_path), aggregate_flush_seconds=0.01)
    with TestClient(create_app(settings, runtime)) as client:
        yield Evaluator(client, bus, knowledge)


def test_the_default_files_seed_an_empty_store_as_a_source(evaluator: Evaluator) -> None:
    sources = evaluator.client.get("/v1/knowledge/sources", headers=OPERATOR).json()
    assert [d["name"] for d in sources["documents"]] == ["faq.yaml"]
    assert sources["kb_version"] == evaluator.loaded().version.version
    assert "password-reset" in evaluator.loaded().items


def test_a_cp932_faq_sheet_is_imported_and_a_second_import_changes_nothing(evaluator: Evaluator) -> None:
    first = evaluator.client.post(
        "/v1/knowledge/imports", headers=OPERATOR, files={"file": ("it-faq.csv", FAQ_CP932, "text/csv")}
    )
    assert first.status_code == 200, first.text
    summary = first.json()
    assert summary["outcome"] == "imported"
    assert (summary["faq_entries"], summary["added"], summary["unchanged"]) == (2, 2, 0)
    entry = evaluator.loaded().items["IT-1"]
    assert isinstance(entry, FaqEntry)
    assert entry.ja is not None
    assert entry.ja.question == "パスワードを忘れました"
    published = len(evaluator.updates())

    again = evaluator.client.post(
        "/v1/knowledge/imports", params={"name": "it-faq.csv"}, headers=OPERATOR, content=FAQ_CP932
    )
    assert again.status_code == 200
    assert again.json()["outcome"] == "unchanged"
    assert again.json()["kb_version"] == summary["kb_version"]
    assert (again.json()["added"], again.json()["changed"], again.json()["unchanged"]) == (0, 0, 2)
    assert len(evaluator.updates()) == published, "nothing changed, nothing published"


def test_a_document_becomes_passages_and_removing_it_removes_them(evaluator: Evaluator) -> None:
    imported = evaluator.client.post(
        "/v1/knowledge/imports", params={"name": "printer-guide.md"}, headers=OPERATOR, content=GUIDE
    ).json()
    passages = [i for i in evaluator.loaded().items.values() if isinstance(i, Passage)]
    assert imported["passages"] == len(passages) == 2
    assert {p.section for p in passages} == {("Adding a printer",), ("Jams",)}
    update = evaluator.updates()[-1]
    assert update.kb_version == imported["kb_version"]
    assert not update.entries

    listed = evaluator.client.get("/v1/knowledge/sources", headers=OPERATOR).json()
    assert imported["document_id"] in [d["document_id"] for d in listed["documents"]]
    assert listed["recent"][0]["outcome"] == "imported"
    removed = evaluator.client.delete(f"/v1/knowledge/sources/{imported['document_id']}", headers=OPERATOR)
    assert removed.status_code == 200
    assert removed.json()["removed"] == 2
    assert not [i for i in evaluator.loaded().items.values() if isinstance(i, Passage)]
    assert "password-reset" in evaluator.loaded().items
    gone = evaluator.client.delete(f"/v1/knowledge/sources/{imported['document_id']}", headers=OPERATOR)
    assert gone.status_code == 404


def test_a_broken_file_is_refused_and_changes_nothing(evaluator: Evaluator) -> None:
    before = evaluator.loaded()
    published = len(evaluator.updates())
    refused = evaluator.client.post(
        "/v1/knowledge/imports", params={"name": "manual.pdf"}, headers=OPERATOR, content=corrupt_pdf()
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"].endswith("/corrupt")
    after = evaluator.loaded()
    assert after.version == before.version
    assert after.items == before.items
    assert len(evaluator.updates()) == published
    recent = evaluator.client.get("/v1/knowledge/sources", headers=OPERATOR).json()["recent"]
    assert recent[0]["outcome"] == "refused"
    assert recent[0]["error"]["kind"] == "corrupt"


def test_only_operators_import_list_or_remove(evaluator: Evaluator) -> None:
    user = {"authorization": f"Bearer {USER_KEY}"}
    for headers in ({}, user):
        upload = evaluator.client.post(
            "/v1/knowledge/imports", params={"name": "guide.md"}, headers=headers, content=GUIDE
        )
        assert upload.status_code in (401, 403)
        assert evaluator.client.get("/v1/knowledge/sources", headers=headers).status_code in (401, 403)
    assert len(evaluator.updates()) == 1, "only the seed"


def test_a_file_name_must_be_given_and_be_a_plain_name(evaluator: Evaluator) -> None:
    unnamed = evaluator.client.post("/v1/knowledge/imports", headers=OPERATOR, content=GUIDE)
    assert unnamed.status_code == 422
    climbing = evaluator.client.post(
        "/v1/knowledge/imports", params={"name": "../../etc/guide.md"}, headers=OPERATOR, content=GUIDE
    )
    assert climbing.status_code == 422
    assert climbing.json()["type"].endswith("/bad-source-name")


def test_an_upload_over_the_routes_limit_is_refused_before_it_is_read(evaluator: Evaluator) -> None:
    too_large = evaluator.client.post(
        "/v1/knowledge/imports",
        params={"name": "big.pdf"},
        headers={**OPERATOR, "content-length": str(50 * 1024 * 1024)},
        content=b"%PDF-",
    )
    assert too_large.status_code == 413
    assert too_large.json()["type"].endswith("/too-large")


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_the_dashboard_imports_lists_and_removes_sources_with_the_sessions_csrf(evaluator: Evaluator) -> None:
    client = evaluator.client
    assert (
        client.post("/dashboard/login", data={"api_key": OPERATOR_KEY}, follow_redirects=False).status_code
        == 303
    )
    page = client.get("/dashboard/knowledge")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text
    csrf = csrf_of(page.text)

    forged = client.post(
        "/dashboard/knowledge/imports",
        data={"csrf": "not-the-token"},
        files={"file": ("printer-guide.md", GUIDE, "text/markdown")},
    )
    assert forged.status_code == 403
    assert "printer-guide.md" not in client.get("/dashboard/knowledge").text

    uploaded = client.post(
        "/dashboard/knowledge/imports",
        data={"csrf": csrf},
        files=[
            ("file", ("printer-guide.md", GUIDE, "text/markdown")),
            ("file", ("manual.pdf", corrupt_pdf(), "application/pdf")),
        ],
    )
    assert uploaded.status_code == 200
    assert 'id="import-results"' in uploaded.text
    assert "imported" in uploaded.text
    assert "corrupt" in uploaded.text
    document = next(p.document_id for p in evaluator.loaded().items.values() if isinstance(p, Passage))
    assert f'data-document="{document}"' in uploaded.text

    removed = client.post(
        f"/dashboard/knowledge/sources/{document}/remove", data={"csrf": csrf}, follow_redirects=False
    )
    assert removed.status_code == 303
    assert not [i for i in evaluator.loaded().items.values() if isinstance(i, Passage)]
    assert f'data-document="{document}"' not in client.get("/dashboard/knowledge").text
