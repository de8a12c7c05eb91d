"""The responder's use of the state store: two calls per turn, and exactly one outcome per turn when
deliveries race for a new conversation."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Awaitable, Callable

from helpdesk.dapr.ports import Stored
from helpdesk.events import ChatAnswered
from helpdesk.memory_ports import MemoryStateStore, memory_runtime
from services.dialogue.composer import AnswerComposer
from services.dialogue.knowledge.index import KnowledgeIndex
from services.dialogue.memory import ConversationMemory
from services.dialogue.policy import AnswerPolicy, FixedKnowledge
from services.dialogue.responder import Responder, conversation_records
from services.dialogue.settings import DialogueSettings
from services.dialogue.turn_flags import TurnFlags
from tests.unit.dialogue.conftest import analyzed


class WatchedStore(MemoryStateStore):
    """Counts the calls, and can let another delivery write between this one's read and its create."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()
        self.before_create: Callable[[], Awaitable[object]] | None = None

    async def get(self, key: str) -> Stored | None:
        self.calls["get"] += 1
        return await super().get(key)

    async def save(
        self, key: str, value: bytes, *, etag: str | None = None, ttl_seconds: int | None = None
    ) -> None:
        self.calls["save"] += 1
        await super().save(key, value, etag=etag, ttl_seconds=ttl_seconds)

    async def create(self, key: str, value: bytes, *, ttl_seconds: int | None = None) -> bool:
        self.calls["create"] += 1
        if self.before_create is not None:
            interleaved, self.before_create = self.before_create, None
            await interleaved()
        return await super().create(key, value, ttl_seconds=ttl_seconds)


def responder_on(store: WatchedStore, index: KnowledgeIndex) -> Responder:
    runtime = memory_runtime("dialogue", state=store)
    settings = DialogueSettings()
    return Responder(
        conversation_records(store, settings.conversation_ttl_seconds),
        TurnFlags(runtime.flags),
        AnswerPolicy(FixedKnowledge(index)),
        AnswerComposer(None),
        recent_turns=settings.recent_turns,
    )


async def memory_of(store: MemoryStateStore, conversation_id: uuid.UUID) -> ConversationMemory:
    stored = await store.get(f"conversation:{conversation_id}")
    assert stored is not None
    return ConversationMemory.model_validate_json(stored.value)


async def test_a_new_conversation_costs_a_read_and_a_create(default_index: KnowledgeIndex) -> None:
    store = WatchedStore()
    responder = responder_on(store, default_index)
    event = analyzed("How do I reset my password?")

    outcome = await responder.respond(event)

    assert isinstance(outcome, ChatAnswered)
    assert store.calls == {"get": 1, "create": 1}
    memory = await memory_of(store, event.conversation_id)
    assert memory.already_answered(event.turn_id)
    assert memory.user_id == event.channel.user_id
    assert [t.turn_id for t in memory.turns] == [event.turn_id]


async def test_a_later_turn_costs_a_read_and_a_save(default_index: KnowledgeIndex) -> None:
    store = WatchedStore()
    responder = responder_on(store, default_index)
    first = analyzed("How do I reset my password?")
    await responder.respond(first)
    store.calls.clear()

    await responder.respond(analyzed("How do I connect to the VPN?", conversation_id=first.conversation_id))

    assert store.calls == {"get": 1, "save": 1}


async def test_a_concurrent_duplicate_of_a_first_turn_gets_the_stored_outcome(
    default_index: KnowledgeIndex,
) -> None:
    store = WatchedStore()
    responder = responder_on(store, default_index)
    event = analyzed("How do I reset my password?")
    delivered: list[object] = []

    async def duplicate() -> None:
        delivered.append(await responder.respond(event))

    store.before_create = duplicate

    outcome = await responder.respond(event)

    assert outcome == delivered[0]
    memory = await memory_of(store, event.conversation_id)
    assert [t.turn_id for t in memory.turns] == [event.turn_id]
    assert len(memory.outcomes) == 1


async def test_a_first_turn_that_loses_the_create_to_another_turn_is_answered_after_it(
    default_index: KnowledgeIndex,
) -> None:
    store = WatchedStore()
    responder = responder_on(store, default_index)
    first = analyzed("How do I reset my password?")
    other = analyzed("How do I connect to the VPN?", conversation_id=first.conversation_id)

    async def other_turn() -> None:
        await responder.respond(other)

    store.before_create = other_turn

    outcome = await responder.respond(first)

    assert isinstance(outcome, ChatAnswered)
    memory = await memory_of(store, first.conversation_id)
    assert [t.turn_id for t in memory.turns] == [other.turn_id, first.turn_id]
    assert memory.already_answered(first.turn_id)
    assert memory.already_answered(other.turn_id)
