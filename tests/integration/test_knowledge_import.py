"""Knowledge imported through the running stack (two dialogue replicas): the knowledge store's keys are
shared by the evaluator and dialogue alone; files imported through the operator API and with
`helpdeskctl kb import` reach every dialogue replica and are answered from; importing them again changes
nothing; a broken file changes nothing; removing a document removes its passages."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from helpdesk.dapr.sidecar import Sidecar
from helpdesk.dapr.state import DaprStateStore
from helpdesk.knowledge.entries import Passage, document_id
from helpdesk.knowledge.store import KnowledgeStore
from helpdesk.knowledge.versions import LoadedKnowledge
from helpdesk.settings import ServiceSettings
from helpdesk.topics import Component, Topic
from helpdesk_ops.devstack import Stack
from tests.support.documents import corrupt_pdf, xlsx_faq
from tests.support.imported_knowledge import (
    CSV_CP932,
    DOCX_GUIDE,
    FOUR_FILES,
    PDF_MANUAL,
    XLSX_FAQ,
    import_file,
    indexed_versions,
    operator_api,
    sources,
)
from tests.support.operator_cli import helpdeskctl
from tests.support.stack import answer_to, eventually, running_stack

pytestmark = pytest.mark.integration

PREFIX = "knowledgestore||"


@pytest.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """Two dialogue replicas, so every replica's re-indexing is seen."""
    async with running_stack(
        tmp_path_factory.mktemp("knowledge-stack"),
        replicas={"dialogue": 2},
        extra_env={
            "gateway": {"HELPDESK_RATE_LIMIT_PER_USER": "100000", "HELPDESK_RATE_LIMIT_PER_KEY": "100000"}
        },
    ) as running:
        yield running


async def load_through(stack: Stack, app_id: str) -> LoadedKnowledge:
    """The current knowledge version as read through an app's sidecar, with the kernel's store."""
    replica = stack.of(app_id)[0]
    settings = ServiceSettings(DAPR_HTTP_PORT=replica.dapr_http_port, DAPR_API_TOKEN=stack.dapr_api_token)
    sidecar = Sidecar(settings, [])
    try:
        loaded = await KnowledgeStore(DaprStateStore(sidecar, Component.KNOWLEDGESTORE)).load()
    finally:
        await sidecar.close()
    assert loaded is not None
    return loaded


async def redis_state(stack: Stack) -> tuple[set[str], bytes | None, int]:
    """Every knowledge store key in Redis, the value of kb:current, and the length of kb.updated."""
    client = aioredis.Redis.from_url(f"redis://{stack.redis_address}")
    try:
        keys = {key.decode() async for key in client.scan_iter(match=f"{PREFIX}*")}
        current: bytes | None = await client.hget(f"{PREFIX}kb:current", "data")  # type: ignore[assignment]
        published = await client.xlen(Topic.KB_UPDATED.value)
    finally:
        await client.aclose()
    return keys, current, published


async def every_replica_indexes(stack: Stack, version: str) -> bool:
    async def indexed() -> bool:
        return all(v == version for v in await indexed_versions(stack))

    return await eventually(indexed, timeout=30)


async def test_the_knowledge_store_is_shared_by_the_evaluator_and_dialogue_alone(stack: Stack) -> None:
    async def seeded() -> bool:
        return (await redis_state(stack))[1] is not None

    assert await eventually(seeded, timeout=30), "the evaluator seeds the store from the default files"
    by_evaluator = await load_through(stack, "evaluator")
    by_dialogue = await load_through(stack, "dialogue")
    assert by_dialogue.version == by_evaluator.version
    assert by_dialogue.items == by_evaluator.items
    assert "it-password-reset" in by_dialogue.items
    assert await every_replica_indexes(stack, by_evaluator.version.version)

    gateway = stack.of("gateway")[0]
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{gateway.dapr_http_port}",
        headers={"dapr-api-token": stack.dapr_api_token},
    ) as sidecar:
        refused = await sidecar.get("/v1.0/state/knowledgestore/kb:current")
    assert refused.status_code >= 400, "the gateway is not scoped to the knowledge store"


async def test_files_imported_by_api_and_by_helpdeskctl_reach_every_replica_and_are_answered_from(
    stack: Stack, stack_state: Path, tmp_path: Path
) -> None:
    async with operator_api(stack) as api:
        for file in (CSV_CP932, XLSX_FAQ):
            response = await import_file(api, file)
            assert response.status_code == 200, response.text
            assert response.json()["outcome"] == "imported"
            assert response.json()["faq_entries"] == 2
    for file in (PDF_MANUAL, DOCX_GUIDE):
        (tmp_path / file.name).write_bytes(file.data)
    imported = await asyncio.to_thread(
        helpdeskctl,
        stack_state,
        "kb",
        "import",
        str(tmp_path / PDF_MANUAL.name),
        str(tmp_path / DOCX_GUIDE.name),
    )
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert "2 imported, 0 unchanged, 0 refused" in imported.stdout

    async with operator_api(stack) as api:
        view = await sources(api)
    names = {d["name"]: d for d in view["documents"]}
    assert {f.name for f in FOUR_FILES} <= set(names)
    assert names[PDF_MANUAL.name]["passages"] >= 2
    assert names[DOCX_GUIDE.name]["passages"] >= 2
    assert await every_replica_indexes(stack, view["kb_version"])

    loaded = await load_through(stack, "dialogue")
    manual = [
        i
        for i in loaded.items.values()
        if isinstance(i, Passage) and i.document_id == document_id(PDF_MANUAL.name)
    ]
    assert {p.page for p in manual} == {1, 2}
    for file in (CSV_CP932, XLSX_FAQ):
        question = file.questions[0]
        answer = await answer_to(stack, question.text)
        assert answer["citations"] == [question.cites], answer
        assert question.says in answer["answer"]


async def test_importing_the_same_files_again_changes_nothing(
    stack: Stack, stack_state: Path, tmp_path: Path
) -> None:
    """Chosen behaviour: an unchanged file writes no version and publishes no kb.updated."""
    async with operator_api(stack) as api:
        for file in FOUR_FILES:
            assert (await import_file(api, file)).status_code == 200
    keys, current, published = await redis_state(stack)
    for file in FOUR_FILES:
        (tmp_path / file.name).write_bytes(file.data)

    again = await asyncio.to_thread(helpdeskctl, stack_state, "kb", "import", str(tmp_path))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 imported, 4 unchanged, 0 refused" in again.stdout
    async with operator_api(stack) as api:
        by_api = [(await import_file(api, file)).json() for file in FOUR_FILES]
    assert {s["outcome"] for s in by_api} == {"unchanged"}
    assert all(s["added"] == s["changed"] == s["removed"] == 0 for s in by_api)
    assert await redis_state(stack) == (keys, current, published)


async def test_a_broken_file_changes_nothing(stack: Stack) -> None:
    async with operator_api(stack) as api:
        assert (await import_file(api, DOCX_GUIDE)).status_code == 200
        before = await redis_state(stack)
        refused = await api.post(
            "/v1/knowledge/imports", params={"name": DOCX_GUIDE.name}, content=corrupt_pdf()
        )
        also = await api.post("/v1/knowledge/imports", params={"name": "manual.pdf"}, content=corrupt_pdf())
        view = await sources(api)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert also.status_code == 422
    assert also.json()["type"].endswith("/corrupt")
    assert await redis_state(stack) == before, "the knowledge version and the items in Redis are unchanged"
    assert view["recent"][0]["outcome"] == "refused"
    answer = await answer_to(stack, DOCX_GUIDE.questions[0].text)
    assert answer["status"] == "answered"


async def test_removing_a_document_removes_its_passages_from_every_replica(
    stack: Stack, stack_state: Path
) -> None:
    async with operator_api(stack) as api:
        assert (await import_file(api, PDF_MANUAL)).status_code == 200
    manual = document_id(PDF_MANUAL.name)
    removed = await asyncio.to_thread(helpdeskctl, stack_state, "kb", "remove", manual)
    assert removed.returncode == 0, removed.stdout + removed.stderr

    loaded = await load_through(stack, "dialogue")
    assert not [i for i in loaded.items.values() if isinstance(i, Passage) and i.document_id == manual]
    assert await every_replica_indexes(stack, loaded.version.version)
    keys, _, _ = await redis_state(stack)
    kept = {key.split(":")[1] for key in keys if key.startswith(f"{PREFIX}manifest:")}
    assert kept == {loaded.version.version, loaded.version.previous_version}, "older versions are retired"
    assert f"{PREFIX}kb:writing" not in keys
    assert f"{PREFIX}kb:lock" not in keys
    listed = await asyncio.to_thread(helpdeskctl, stack_state, "kb", "sources")
    assert listed.returncode == 0
    assert PDF_MANUAL.name not in listed.stdout
    answer = await answer_to(stack, PDF_MANUAL.questions[0].text)
    cited = [c for c in answer.get("sources", []) if c.get("document_id") == manual]
    assert not cited, json.dumps(answer)


async def test_a_large_import_leaves_the_evaluator_answering(stack: Stack) -> None:
    """A FAQ workbook of 12,000 rows takes seconds to parse and to write; the evaluator's event loop keeps
    answering meanwhile (the file is read in a process of its own, the items prepared in a thread),
    and every dialogue replica then answers from the new version."""
    rows = [
        (
            f"BULK-{n}",
            f"How do I set option {n} on the Zephyr panel?",
            f"Open panel page {n} and press apply.",
            "",
            "",
        )
        for n in range(12_000)
    ]
    sheet = xlsx_faq(rows)
    evaluator = stack.of("evaluator")[0].url
    slowest = 0.0
    async with operator_api(stack) as api, httpx.AsyncClient(base_url=evaluator, timeout=10) as probe:
        upload = asyncio.create_task(
            api.post("/v1/knowledge/imports", params={"name": "bulk.xlsx"}, content=sheet)
        )
        while not upload.done():
            started = asyncio.get_running_loop().time()
            assert (await probe.get("/healthz")).status_code == 200
            slowest = max(slowest, asyncio.get_running_loop().time() - started)
            await asyncio.sleep(0.05)
        imported = await upload
        assert imported.status_code == 200, imported.text
        assert imported.json()["faq_entries"] == 12_000
        assert await every_replica_indexes(stack, imported.json()["kb_version"])
        answer = await answer_to(stack, "How do I set option 7331 on the Zephyr panel?")
        assert answer["citations"][:1] == ["BULK-7331"], answer
        assert (
            await api.delete(f"/v1/knowledge/sources/{imported.json()['document_id']}")
        ).status_code == 200
    assert slowest < 1.0, f"the evaluator took {slowest:.2f} s to answer /healthz during the import"
