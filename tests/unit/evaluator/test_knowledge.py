"""The evaluator's copy of the knowledge base: the default files until the knowledge store has a version,
then the store's; schema 1 kb.updated events followed; tolerant of invalid entries (skipped, logged and
counted; the valid rest is followed)."""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from helpdesk.events import KbUpdated, Language
from helpdesk.knowledge.entries import parse_entry
from helpdesk.knowledge.store import KnowledgeStore
from helpdesk.memory_ports import MemoryBus, MemoryStateStore, memory_runtime
from helpdesk.text import terms
from helpdesk_ops.seed import local_secrets
from services.evaluator.app import create_app
from services.evaluator.knowledge import LEARNED_KEY, KnowledgeCopy, KnowledgeFollower, load_directory
from services.evaluator.knowledge_sources import KnowledgeSources
from services.evaluator.settings import EvaluatorSettings
from services.evaluator.source_reader import SourceReader
from tests.support.events import envelope
from tests.unit.evaluator.conftest import answered


def test_per_language_blocks_flat_entries_and_jsonl_are_read(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "entries:\n"
        "  - id: vpn\n"
        "    category: network\n"
        "    en:\n"
        "      question: How do I connect to the VPN?\n"
        "      alternatives: [VPN does not work]\n"
        "      answer: Install the client.\n"
        "    ja:\n"
        "      question: VPNに接続するには？\n"
        "      answer: クライアントをインストールしてください。\n",
        encoding="utf-8",
    )
    (tmp_path / "b.jsonl").write_text(
        '{"id": "leave", "question": "How many days of leave do I have?", '
        '"answer": "See the HR portal.", "lang": "en"}\n'
        '{"id": "broken"}\n',
        encoding="utf-8",
    )
    entries = {e.id: e for e in load_directory(tmp_path)}
    assert set(entries) == {"vpn", "leave"}
    assert entries["vpn"].texts[Language.JA].question == "VPNに接続するには？"
    assert entries["vpn"].texts[Language.EN].alternatives == ("VPN does not work",)
    assert entries["leave"].texts[Language.EN].answer == "See the HR portal."


def test_closest_finds_a_paraphrase_in_the_same_language() -> None:
    entry = parse_entry(
        {
            "id": "pw",
            "en": {
                "question": "How do I reset my password?",
                "alternatives": ["forgot password"],
                "answer": "x",
            },
        }
    )
    assert entry is not None
    copy = KnowledgeCopy([entry])
    found, score = copy.closest(frozenset(terms("I forgot my password", Language.EN)), Language.EN)
    assert found is entry
    assert score == 1.0
    _, none = copy.closest(frozenset(terms("printer jam", Language.EN)), Language.EN)
    assert none == 0.0


def test_the_default_knowledge_directory_loads_without_errors() -> None:
    root = Path(__file__).resolve().parents[3] / "knowledge"
    for entry in load_directory(root):
        assert entry.texts


def skipped(origin: str) -> float:
    value = REGISTRY.get_sample_value("helpdesk_evaluator_kb_entries_skipped_total", {"origin": origin})
    return value or 0.0


async def test_an_invalid_entry_is_skipped_and_counted_and_the_valid_rest_followed() -> None:
    follower = KnowledgeFollower(KnowledgeStore(MemoryStateStore()), [])
    update = KbUpdated.model_validate(
        {
            "update_id": str(uuid.uuid4()),
            "kb_version": "v2",
            "added": ["canteen", "bad id"],
            "entries": [
                {"id": "canteen", "en": {"question": "Where is the canteen?", "answer": "Building B."}},
                {"id": "bad id", "en": {"question": "Where is the gym?", "answer": "Building C."}},
            ],
        }
    )
    before = skipped("update")
    follower.observe(update)
    assert "canteen" in follower.copy
    assert "bad id" not in follower.copy
    assert skipped("update") == before + 1


async def test_entries_approved_before_the_store_existed_are_seeded_with_the_files(tmp_path: Path) -> None:
    (tmp_path / "it.yaml").write_text(
        "- id: vpn\n  en:\n    question: How do I connect to the VPN?\n    answer: Install the client.\n",
        encoding="utf-8",
    )
    state = MemoryStateStore()
    await state.save(
        LEARNED_KEY,
        orjson.dumps([{"id": "learned-1"}, {"id": "learned-2", "question": "Q?", "answer": "A."}]),
    )
    store = KnowledgeStore(MemoryStateStore())
    follower = KnowledgeFollower(store, [])
    sources = KnowledgeSources(store, MemoryBus(), state, SourceReader(), follower)
    before = skipped("learned")
    seeded = await sources.seed(tmp_path)
    assert seeded is not None
    assert seeded.written
    assert {"vpn", "learned-2"} <= set(iter_ids(follower))
    assert skipped("learned") == before + 1
    assert await sources.seed(tmp_path) is None, "only an empty store is seeded"


def iter_ids(follower: KnowledgeFollower) -> list[str]:
    return [entry.id for entry in follower.copy]


def test_one_bad_entry_neither_stops_the_evaluator_nor_a_knowledge_update(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(
        "- id: vpn\n  en:\n    question: How do I connect to the VPN?\n    answer: Install the client.\n",
        encoding="utf-8",
    )
    (tmp_path / "bad.jsonl").write_text('{"id": "broken"}\nnot json\n', encoding="utf-8")
    runtime = memory_runtime("evaluator", secrets=local_secrets("hd_user-key", "hdop_operator-key"))
    settings = EvaluatorSettings(knowledge_path=str(tmp_path), aggregate_flush_seconds=0.01)
    update = {
        "update_id": str(uuid.uuid4()),
        "kb_version": "v9",
        "added": ["canteen", "x"],
        "entries": [
            {"id": "canteen", "en": {"question": "Where is the canteen?", "answer": "Building B."}},
            {"id": "x"},
        ],
    }
    with TestClient(create_app(settings, runtime)) as client:
        response = client.post(
            "/events/broadcast/live.kb.updated", json=envelope(update, "live.kb.updated", "broadcast")
        )
        assert response.json()["status"] == "SUCCESS"
        for question, answer, faq_id in (
            ("Where is the canteen?", "Building B.", "canteen"),
            ("How do I connect to the VPN?", "Install the client.", "vpn"),
        ):
            event = answered(question=question, answer=answer, cited_faq_ids=[faq_id])
            client.post("/events/pubsub/chat.answered", json=envelope(event, "chat.answered"))
            record = client.get(
                f"/v1/evaluations/{event.turn_id}", headers={"authorization": "Bearer hdop_operator-key"}
            ).json()
            assert record["citation_validity"] == 1.0, faq_id
