"""dialogue's subscription routes, driven with CloudEvents through FastAPI's TestClient."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from helpdesk.dapr.subscriptions import APP_TOKEN_HEADER
from helpdesk.events import AnswerMode, ChatAnswered, ChatEscalated, Contract, KbUpdated
from helpdesk.flags import FlagDefinition
from helpdesk.knowledge.entries import parse_entry
from helpdesk.knowledge.store import KnowledgeStore
from helpdesk.knowledge.versions import KnowledgeEdit
from helpdesk.memory_ports import MemoryBus, MemoryStateStore, memory_runtime
from services.dialogue.app import create_app
from services.dialogue.memory import ConversationMemory
from services.dialogue.settings import DialogueSettings
from tests.support.events import envelope
from tests.unit.dialogue.conftest import analyzed

TOKEN = "app-token-for-tests"


@dataclass
class DialogueUnderTest:
    client: TestClient
    bus: MemoryBus
    state: MemoryStateStore
    knowledge: MemoryStateStore = field(default_factory=MemoryStateStore)
    """The knowledge store the app reads (its runtime's, where the test gives it)."""

    def post(self, event: Contract | dict[str, Any], topic: str, pubsub: str = "pubsub") -> str:
        route = f"/events/{pubsub}/{topic}"
        response = self.client.post(
            route, json=envelope(event, topic, pubsub), headers={APP_TOKEN_HEADER: TOKEN}
        )
        assert response.status_code == 200, response.text
        status: str = response.json()["status"]
        return status

    def ask(self, text: str, **kwargs: Any) -> ChatAnswered | ChatEscalated:
        event = analyzed(text, **kwargs)
        assert self.post(event, "chat.analyzed") == "SUCCESS"
        published = self.bus.published[-1][1]
        assert isinstance(published, ChatAnswered | ChatEscalated)
        assert published.turn_id == event.turn_id
        return published

    async def memory(self, conversation_id: uuid.UUID) -> ConversationMemory:
        stored = await self.state.get(f"conversation:{conversation_id}")
        assert stored is not None
        return ConversationMemory.model_validate_json(stored.value)


def dialogue_app(
    flags: dict[str, FlagDefinition] | None = None, *, semantic_retrieval: bool = True
) -> Iterator[DialogueUnderTest]:
    runtime = memory_runtime("dialogue", flags=flags)
    settings = DialogueSettings(
        app_api_token=SecretStr(TOKEN),
        knowledge_refresh_seconds=0,
        semantic_retrieval=semantic_retrieval,
    )
    assert isinstance(runtime.bus, MemoryBus)
    assert isinstance(runtime.state, MemoryStateStore)
    assert isinstance(runtime.knowledge, MemoryStateStore)
    with TestClient(create_app(settings, runtime)) as client:
        yield DialogueUnderTest(client, runtime.bus, runtime.state, runtime.knowledge)


@pytest.fixture
def dialogue() -> Iterator[DialogueUnderTest]:
    yield from dialogue_app()


def test_a_question_is_answered_with_its_faq_entry_and_the_kb_version(dialogue: DialogueUnderTest) -> None:
    answered = dialogue.ask("How do I reset my password?")
    assert isinstance(answered, ChatAnswered)
    assert answered.mode is AnswerMode.FAQ
    assert answered.cited_faq_ids == ["it-password-reset"]
    assert answered.kb_version is not None
    assert answered.kb_version.startswith("seed-")
    assert "dialogue" in answered.timings_ms


def test_a_japanese_question_is_answered_in_japanese(dialogue: DialogueUnderTest) -> None:
    answered = dialogue.ask("給与明細はどこで見られますか")
    assert isinstance(answered, ChatAnswered)
    assert answered.language.value == "ja"
    assert answered.cited_faq_ids == ["hr-payslip"]


async def test_a_redelivered_turn_yields_the_same_outcome_and_no_second_answer(
    dialogue: DialogueUnderTest,
) -> None:
    event = analyzed("How do I reset my password?")
    assert dialogue.post(event, "chat.analyzed") == "SUCCESS"
    assert dialogue.post(event, "chat.analyzed") == "SUCCESS"
    first, second = (e for _, e in dialogue.bus.published)
    assert first == second
    memory = await dialogue.memory(event.conversation_id)
    assert len(memory.turns) == 1
    assert memory.answered_turn_ids == [event.turn_id]


async def test_a_clarification_is_remembered_and_resolved_by_the_next_turn(
    dialogue: DialogueUnderTest,
) -> None:
    conversation = uuid.uuid4()
    offered = dialogue.ask("password", conversation_id=conversation)
    assert isinstance(offered, ChatAnswered)
    assert offered.mode is AnswerMode.CLARIFY
    assert (await dialogue.memory(conversation)).clarification is not None

    chosen = dialogue.ask("2", conversation_id=conversation)
    assert isinstance(chosen, ChatAnswered)
    assert chosen.cited_faq_ids == [offered.choices[1].faq_id]
    memory = await dialogue.memory(conversation)
    assert memory.clarification is None
    assert [t.mode for t in memory.turns] == [AnswerMode.CLARIFY, AnswerMode.FAQ]


async def test_an_unknown_question_is_escalated_and_the_status_remembered(
    dialogue: DialogueUnderTest,
) -> None:
    conversation = uuid.uuid4()
    escalated = dialogue.ask("How do I get a parking permit for the garage?", conversation_id=conversation)
    assert isinstance(escalated, ChatEscalated)
    assert escalated.message
    assert (await dialogue.memory(conversation)).escalated
    later = dialogue.ask("Can I park my motorbike in the garage too?", conversation_id=conversation)
    assert isinstance(later, ChatAnswered)
    assert later.mode is AnswerMode.HANDOFF


def test_with_handoff_switched_off_an_unknown_question_gets_a_fallback() -> None:
    flags = {"handoff_enabled": FlagDefinition(value=False)}
    for dialogue in dialogue_app(flags):
        answered = dialogue.ask("How do I get a parking permit for the garage?")
        assert isinstance(answered, ChatAnswered)
        assert answered.mode is AnswerMode.FALLBACK


async def test_a_kb_update_makes_the_stores_new_version_answerable(dialogue: DialogueUnderTest) -> None:
    """The evaluator writes the version to the knowledge store and publishes a reference to it; the
    event carries no entry, yet the new one is answered from (and dialogue wrote nothing)."""
    entry = parse_entry(
        {
            "id": "it-yubikey",
            "en": {
                "question": "How do I get a YubiKey security key?",
                "answer": "Order one on the IT portal.",
            },
            "ja": {"question": "YubiKeyを入手するには？", "answer": "ITポータルで注文してください。"},
        }
    )
    committed = await KnowledgeStore(dialogue.knowledge).commit(KnowledgeEdit(put=[entry]))
    update = committed.event()
    assert update is not None
    assert not update.entries
    writes = dialogue.knowledge.writes
    assert dialogue.post(update, "kb.updated") == "SUCCESS"
    assert dialogue.post(update, "kb.updated") == "SUCCESS"
    assert dialogue.knowledge.writes == writes

    answered = dialogue.ask("How do I get a YubiKey?")
    assert isinstance(answered, ChatAnswered)
    assert answered.cited_faq_ids == ["it-yubikey"]
    assert answered.kb_version == update.kb_version
    japanese = dialogue.ask("YubiKeyを入手したい")
    assert isinstance(japanese, ChatAnswered)
    assert japanese.cited_faq_ids == ["it-yubikey"]


def test_a_schema_1_kb_update_with_its_entries_is_still_followed(dialogue: DialogueUnderTest) -> None:
    entry = parse_entry({"id": "it-yubikey", "question": "How do I get a YubiKey?", "answer": "IT portal."})
    assert dialogue.post(KbUpdated.carrying([entry], kb_version="v-yubikey"), "kb.updated") == "SUCCESS"
    answered = dialogue.ask("How do I get a YubiKey?")
    assert isinstance(answered, ChatAnswered)
    assert answered.cited_faq_ids == ["it-yubikey"]
    assert answered.kb_version == "v-yubikey"


def test_the_live_copy_of_a_kb_update_reindexes_this_replica(dialogue: DialogueUnderTest) -> None:
    entry = parse_entry(
        {"id": "hr-bike", "question": "Can I lease a company bike?", "answer": "Yes, via HR."}
    )
    assert (
        dialogue.post(KbUpdated.carrying([entry], kb_version="v-bike"), "live.kb.updated", "broadcast")
        == "SUCCESS"
    )
    answered = dialogue.ask("can I lease a bike through the company")
    assert isinstance(answered, ChatAnswered)
    assert answered.cited_faq_ids == ["hr-bike"]


def test_a_kb_update_with_invalid_entries_is_dead_lettered(dialogue: DialogueUnderTest) -> None:
    # A KbUpdated never sends an invalid entry (it sets received ones aside): this one is written on the wire.
    bad = {"update_id": str(uuid.uuid4()), "kb_version": "v-bad", "added": ["x"], "entries": [{"id": "x"}]}
    assert dialogue.post(bad, "kb.updated") == "DROP"
    assert dialogue.post(bad, "live.kb.updated", "broadcast") == "SUCCESS"
    assert dialogue.post({"update_id": "not-a-uuid"}, "kb.updated") == "DROP"


def test_subscription_routes_refuse_calls_without_the_app_token(dialogue: DialogueUnderTest) -> None:
    refused = dialogue.client.post(
        "/events/pubsub/kb.updated", json=envelope(KbUpdated.carrying([]), "kb.updated")
    )
    assert refused.status_code == 401
    routes = {
        (s["pubsubname"], s["topic"])
        for s in dialogue.client.get("/dapr/subscribe", headers={APP_TOKEN_HEADER: TOKEN}).json()
    }
    assert routes == {("pubsub", "chat.analyzed"), ("pubsub", "kb.updated"), ("broadcast", "live.kb.updated")}


@pytest.mark.parametrize("semantic_retrieval", [True, False])
def test_the_semantic_retrieval_setting_switches_the_sentence_encoder(semantic_retrieval: bool) -> None:
    """A paraphrase that shares almost no word with its entry: the sentence vectors answer it; without
    them (the setting off) the lexical model only offers choices."""
    for dialogue in dialogue_app(semantic_retrieval=semantic_retrieval):
        answered = dialogue.ask("my pc is super slow")
        assert isinstance(answered, ChatAnswered)
        if semantic_retrieval:
            assert answered.mode is AnswerMode.FAQ
            assert answered.cited_faq_ids == ["it-laptop-slow"]
        else:
            assert answered.mode is AnswerMode.CLARIFY
            assert "it-laptop-slow" in [c.faq_id for c in answered.choices]
