"""The responder's use of the state store: two calls per turn, exactly one outcome per turn when
deliveries race for a new conversation, and conversations kept from before the events' bounds still
read (repaired, or their pending clarification dropped), never a reason to dead-letter a turn."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from pydantic import ValidationError

from helpdesk.dapr.ports import Stored
from helpdesk.events import (
    MAX_ANSWER_CHARS,
    MAX_CHOICE_CHARS,
    MAX_CLARIFIED_CHOICES,
    MAX_FAQ_ID_CHARS,
    MAX_MESSAGE_CHARS,
    ChatAnswered,
    Choice,
)
from helpdesk.memory_ports import MemoryStateStore, memory_runtime
from services.dialogue import memory as memory_module
from services.dialogue import responder as responder_module
from services.dialogue.composer import AnswerComposer
from services.dialogue.knowledge.index import KnowledgeIndex
from services.dialogue.memory import ConversationMemory, PendingClarification
from services.dialogue.policy import AnswerPolicy, FixedKnowledge
from services.dialogue.responder import Responder, conversation_records
from services.dialogue.settings import DialogueSettings
from services.dialogue.turn_flags import TurnFlags
from tests.support.logs import captured_logs
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


def stored_before_the_bounds(conversation_id: uuid.UUID, clarification: dict[str, Any]) -> bytes:
    """A conversation as dialogue wrote it before the events had bounds: one clarifying turn asked,
    its pending clarification as given."""
    asked_in = str(uuid.uuid4())
    return json.dumps(
        {
            "conversation_id": str(conversation_id),
            "user_id": "user-1",
            "language": "en",
            "turns": [
                {"turn_id": asked_in, "question": "q" * 6000, "answer": "Which one?", "mode": "clarify"}
            ],
            "clarification": {"asked_in": asked_in, **clarification},
            "outcomes": [],
            "answered_turn_ids": [asked_in],
        }
    ).encode()


async def test_a_pending_clarification_kept_before_the_bounds_is_shortened_and_resolved(
    default_index: KnowledgeIndex,
) -> None:
    """Labels and question longer than today's bounds: shortened with the events' one helper, so the
    pick is answered and its `Clarified` carries the shortened texts."""
    store = WatchedStore()
    conversation_id = uuid.uuid4()
    old = {
        "question": "Q" * (MAX_MESSAGE_CHARS + 2000),
        "choices": [
            {"faq_id": "it-password-reset", "question": "P" * (MAX_CHOICE_CHARS + 500)},
            {"faq_id": "hr-payday", "question": "D" * (MAX_CHOICE_CHARS + 500)},
        ],
    }
    await store.save(f"conversation:{conversation_id}", stored_before_the_bounds(conversation_id, old))
    responder = responder_on(store, default_index)

    outcome = await responder.respond(analyzed("the first one", conversation_id=conversation_id))

    assert isinstance(outcome, ChatAnswered)
    assert outcome.cited_faq_ids == ["it-password-reset"]
    assert outcome.clarified is not None
    assert outcome.clarified.question == "Q" * (MAX_MESSAGE_CHARS - 1) + "…"
    assert [c.question for c in outcome.clarified.choices] == [
        "P" * (MAX_CHOICE_CHARS - 1) + "…",
        "D" * (MAX_CHOICE_CHARS - 1) + "…",
    ]
    assert (await memory_of(store, conversation_id)).already_answered(outcome.turn_id)


@pytest.mark.parametrize(
    "clarification",
    [
        {"question": "Q", "choices": [{"faq_id": "x" * (MAX_FAQ_ID_CHARS + 1), "question": "secret words"}]},
        {
            "question": "Q",
            "choices": [{"faq_id": "hr-payday", "question": "secret words"}] * (MAX_CLARIFIED_CHOICES + 1),
        },
        {"question": "secret words", "choices": [{"question": "no id"}]},
        {"choices": [{"faq_id": "hr-payday", "question": "secret words"}]},
        {"question": "secret words", "choices": "not a list"},
    ],
    ids=["id-too-long", "too-many-choices", "choice-without-id", "no-question", "malformed"],
)
async def test_a_pending_clarification_that_cannot_be_repaired_is_dropped_and_the_turn_answered(
    default_index: KnowledgeIndex, clarification: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = WatchedStore()
    conversation_id = uuid.uuid4()
    await store.save(
        f"conversation:{conversation_id}", stored_before_the_bounds(conversation_id, clarification)
    )
    responder = responder_on(store, default_index)

    with captured_logs(monkeypatch, memory_module) as logs:
        outcome = await responder.respond(
            analyzed("How do I reset my password?", conversation_id=conversation_id)
        )

    assert isinstance(outcome, ChatAnswered)
    assert outcome.clarified is None
    [dropped] = [log for log in logs if log["event"] == "stored_clarification_dropped"]
    assert dropped["log_level"] == "warning"
    assert dropped["conversation_id"] == str(conversation_id)
    assert dropped["problems"]
    assert "secret" not in repr(dropped)
    memory = await memory_of(store, conversation_id)
    assert memory.already_answered(outcome.turn_id)
    assert len(memory.turns) == 2


async def test_a_stored_outcome_kept_before_the_bounds_is_not_republished_on_a_redelivery(
    default_index: KnowledgeIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its turn was answered then; republishing it would break today's contract, so a redelivery
    acknowledges the turn as answered long ago instead of failing on it."""
    store = WatchedStore()
    responder = responder_on(store, default_index)
    event = analyzed("How do I reset my password?")
    await responder.respond(event)
    key = f"conversation:{event.conversation_id}"
    stored = await store.get(key)
    assert stored is not None
    record = json.loads(stored.value)
    record["outcomes"][0]["event"]["answer"] = "a" * (MAX_ANSWER_CHARS + 1)
    await store.save(key, json.dumps(record).encode())

    with captured_logs(monkeypatch, responder_module) as logs:
        assert await responder.respond(event) is None

    assert [log["event"] for log in logs if log["log_level"] == "warning"] == ["stored_outcome_dropped"]


def test_what_dialogue_writes_is_held_to_the_bounds() -> None:
    asked_in = uuid.uuid4()
    choice = Choice(faq_id="hr-payday", question="When is payday?")
    PendingClarification(
        choices=[choice] * MAX_CLARIFIED_CHOICES, question="q" * MAX_MESSAGE_CHARS, asked_in=asked_in
    )
    with pytest.raises(ValidationError):
        PendingClarification(choices=[choice], question="q" * (MAX_MESSAGE_CHARS + 1), asked_in=asked_in)
    with pytest.raises(ValidationError):
        PendingClarification(choices=[choice] * (MAX_CLARIFIED_CHOICES + 1), question="q", asked_in=asked_in)
    with pytest.raises(ValidationError):
        Choice(faq_id="hr-payday", question="c" * (MAX_CHOICE_CHARS + 1))
