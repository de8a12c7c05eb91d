"""Hostile uploads at the running import service (the session stack of tests/conftest.py): an oversized
upload is answered 413 before it is read, an upload without an operator key imports nothing, a forged
kb.updated naming planted items is refused, and an instruction planted in a manual is kept flagged and
never answered from. (The same files at the import library are in test_document_import.py; the helpers
for imported files are in tests/support/imported_knowledge.py.)"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import redis.asyncio as aioredis

from helpdesk.events import KbUpdated, KnowledgeCounts
from helpdesk.knowledge.entries import parse_entry
from helpdesk.knowledge.importing.limits import MIB
from helpdesk.knowledge.versions import ItemRef, KnowledgeVersion, item_json, page_key
from helpdesk.topics import AppId, Topic, dead_letter_topic, live_topic
from helpdesk_ops.devstack import Stack
from tests.support.documents import HONEST, PLANTED_EN, markdown_guide
from tests.support.imported_knowledge import indexed_versions, operator_api, sources
from tests.support.stack import answer_to, eventually, rejected


async def _knowledge_keys(stack: Stack) -> tuple[set[bytes], bytes | None]:
    client = aioredis.Redis.from_url(f"redis://{stack.redis_address}")
    try:
        keys = {key async for key in client.scan_iter(match="knowledgestore||*")}
        current: bytes | None = await client.hget("knowledgestore||kb:current", "data")  # type: ignore[assignment]
    finally:
        await client.aclose()
    return keys, current


async def _settled_versions(stack: Stack) -> list[str]:
    """The version every dialogue replica answers from once they all follow `kb:current`. A stack that
    has just started answers from the default files until the evaluator has seeded the store; a
    snapshot taken before that would see the seeding as a change."""
    client = aioredis.Redis.from_url(f"redis://{stack.redis_address}")
    try:

        async def settled() -> bool:
            stored: bytes | None = await client.hget("knowledgestore||kb:current", "data")  # type: ignore[assignment]
            if stored is None:
                return False
            current = KnowledgeVersion.model_validate_json(stored).version
            return all(version == current for version in await indexed_versions(stack))

        assert await eventually(settled, timeout=60), "the dialogue replicas never followed kb:current"
    finally:
        await client.aclose()
    return await indexed_versions(stack)


async def test_a_50_mb_upload_gets_413_before_it_is_read(stack: Stack) -> None:
    """The import route takes 25 MB; a declared 50 MB is answered while almost none of it was sent."""
    evaluator = stack.of("evaluator")[0]
    host, port = evaluator.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = (
        "POST /v1/knowledge/imports?name=huge.pdf HTTP/1.1\r\n"
        f"host: {host}\r\nauthorization: Bearer {stack.operator_key}\r\n"
        f"content-type: application/octet-stream\r\ncontent-length: {50 * MIB}\r\n\r\n"
    )
    writer.write(head.encode() + b"%PDF-1.7\n" + b"\0" * (64 * 1024))
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(4096), timeout=10)
    writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"application/problem+json" in rest
    assert b"connection: close" in rest.lower()


async def test_an_upload_without_an_operator_key_is_refused_and_imports_nothing(stack: Stack) -> None:
    before = await _knowledge_keys(stack)
    guide = markdown_guide("Guide", [("Setup", [HONEST])])
    async with operator_api(stack, key="hdop_not-a-key") as wrong, operator_api(stack) as api:
        del wrong.headers["authorization"]
        anonymous = await wrong.post("/v1/knowledge/imports", params={"name": "guide.md"}, content=guide)
        forged = await api.post(
            "/v1/knowledge/imports",
            params={"name": "guide.md"},
            content=guide,
            headers={"authorization": "Bearer hdop_not-a-key"},
        )
    assert anonymous.status_code == 401
    assert forged.status_code == 401
    assert await _knowledge_keys(stack) == before


async def test_a_forged_schema_2_update_pointing_at_planted_items_is_refused(stack: Stack) -> None:
    """Anyone who can write to Redis may plant items and a manifest and append a kb.updated that names
    them: dialogue refuses the event by its source (dead letter; the live copy counted), and even an
    event that claims the right source only makes dialogue read `kb:current`, which names no forged
    version."""
    marker = uuid.uuid4().hex[:8]
    planted = parse_entry(
        {"id": f"forged-{marker}", "question": f"How do I open the {marker} safe?", "answer": PLANTED_EN}
    )
    ref = ItemRef.of(planted)
    version = f"v999-{marker}"
    update = KbUpdated.referring(
        update_id=uuid.uuid4(),
        kb_version=version,
        previous_version=None,
        pages=1,
        counts=KnowledgeCounts(added=1),
        changed_ids=[planted.id],
        actor="attacker",
    ).model_dump(mode="json")

    def cloud_event(topic: str, pubsub: str, source: str) -> dict[str, Any]:
        return {
            "specversion": "1.0", "id": str(uuid.uuid4()), "source": source, "type": "com.dapr.event.sent",
            "datacontenttype": "application/json", "data": update, "topic": topic, "pubsubname": pubsub,
        }  # fmt: skip

    durable = cloud_event(Topic.KB_UPDATED.value, "pubsub", AppId.GATEWAY.value)
    live_name = live_topic(Topic.KB_UPDATED)
    before_live = await rejected(stack, "dialogue", live_name, "source")
    dead_letters = dead_letter_topic(AppId.DIALOGUE, Topic.KB_UPDATED)
    indexed = await _settled_versions(stack)
    client = aioredis.Redis.from_url(f"redis://{stack.redis_address}")
    try:
        await client.hset(f"knowledgestore||{ref.key}", mapping={"data": item_json(planted), "version": "1"})
        page = json.dumps([ref.model_dump(mode="json")])
        await client.hset(f"knowledgestore||{page_key(version, 0)}", mapping={"data": page, "version": "1"})
        await client.xadd(Topic.KB_UPDATED.value, {"data": json.dumps(durable)})
        await client.xadd(live_name, {"data": json.dumps(cloud_event(live_name, "broadcast", "gateway"))})
        await client.xadd(live_name, {"data": json.dumps(cloud_event(live_name, "broadcast", "evaluator"))})

        async def dead_lettered() -> bool:
            entries: list[tuple[bytes, dict[bytes, bytes]]] = await client.xrange(dead_letters)  # type: ignore[assignment]
            return any(json.loads(fields[b"data"]).get("id") == durable["id"] for _, fields in entries)

        assert await eventually(dead_lettered, timeout=30), "the forged update must reach the dead letters"
    finally:
        await client.aclose()

    async def live_refused() -> bool:
        return await rejected(stack, "dialogue", live_name, "source") > before_live

    assert await eventually(live_refused, timeout=30)
    assert await indexed_versions(stack) == indexed, "no replica loads a version kb:current does not name"
    assert PLANTED_EN not in (await answer_to(stack, f"How do I open the {marker} safe?"))["answer"]


async def test_a_planted_instruction_is_kept_flagged_and_never_answered_from(stack: Stack) -> None:
    name = f"zephyr-{uuid.uuid4().hex[:8]}.md"
    guide = markdown_guide(
        "Zephyr account guide",
        [
            (
                "Unlocking a Zephyr account",
                ["Call the service desk; they unlock the account after a callback."],
            ),
            ("Zephyr password reset", [PLANTED_EN]),
        ],
    )
    async with operator_api(stack) as api:
        imported = await api.post("/v1/knowledge/imports", params={"name": name}, content=guide)
        assert imported.status_code == 200, imported.text
        summary = imported.json()
        listed = await sources(api)
    assert summary["flagged"] == 1
    assert [d["flagged"] for d in listed["documents"] if d["name"] == name] == [1]

    async def indexed_everywhere() -> bool:
        return all(v == summary["kb_version"] for v in await indexed_versions(stack))

    assert await eventually(indexed_everywhere, timeout=30)
    answer = await answer_to(stack, "How do I reset my Zephyr password?")
    assert "evil.example" not in answer["answer"]
    assert not [s for s in answer.get("sources", []) if s.get("section") == ["Zephyr password reset"]], answer
    unlocked = await answer_to(stack, "How do I unlock my Zephyr account?")
    assert "evil.example" not in unlocked["answer"]
