"""The dialogue service: decides every answer, remembers conversations, owns the knowledge base."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from fastapi import FastAPI

from helpdesk.dapr.subscriptions import Subscriptions
from helpdesk.knowledge.store import KnowledgeStore
from helpdesk.runtime import Runtime
from helpdesk.topics import AppId, Component
from helpdesk.web import ServiceHost
from services.dialogue import handlers
from services.dialogue.composer import AnswerComposer
from services.dialogue.generation.generator import Generator
from services.dialogue.knowledge.library import KnowledgeLibrary
from services.dialogue.knowledge.refresher import KnowledgeRefresher
from services.dialogue.knowledge.semantic import load_sentence_encoder
from services.dialogue.policy import AnswerPolicy, PolicySettings
from services.dialogue.responder import Responder, conversation_records
from services.dialogue.settings import DialogueSettings
from services.dialogue.turn_flags import TurnFlags

COMPONENTS = [
    Component.PUBSUB,
    Component.BROADCAST,
    Component.STATESTORE,
    Component.KNOWLEDGESTORE,
    Component.CONFIGSTORE,
    Component.SECRETSTORE,
]


@dataclass(frozen=True, slots=True)
class DialogueParts:
    """dialogue's parts: the knowledge library (the current index), the responder that answers turns,
    the generator with its model client, and the refresher that keeps the library current."""

    library: KnowledgeLibrary
    responder: Responder
    generator: Generator
    refresher: KnowledgeRefresher

    async def close(self) -> None:
        await self.refresher.stop()
        await self.generator.close()


async def compose_dialogue(
    settings: DialogueSettings, runtime: Runtime, subscriptions: Subscriptions
) -> DialogueParts:
    """Loads the sentence encoder (unless switched off) and the knowledge base (the store's current
    version, or the default files until it has one), connects the model, and registers the handlers."""
    encoder = await asyncio.to_thread(load_sentence_encoder) if settings.semantic_retrieval else None
    library = KnowledgeLibrary(settings.knowledge_path, KnowledgeStore(runtime.knowledge), encoder)
    await library.start()
    refresher = KnowledgeRefresher(library, settings.knowledge_refresh_seconds)
    generator = await Generator.open(settings.llm, settings.generation, runtime.state, runtime.secrets)
    policy = AnswerPolicy(
        library,
        PolicySettings(
            answer_confidence=settings.answer_confidence, clarify_confidence=settings.clarify_confidence
        ),
    )
    responder = Responder(
        conversation_records(runtime.state, settings.conversation_ttl_seconds),
        TurnFlags(runtime.flags),
        policy,
        AnswerComposer(generator, policy),
        recent_turns=settings.recent_turns,
    )
    handlers.register(subscriptions, responder, library, runtime.bus)
    refresher.start()
    return DialogueParts(library, responder, generator, refresher)


def create_app(settings: DialogueSettings | None = None, runtime: Runtime | None = None) -> FastAPI:
    settings = settings or DialogueSettings()

    async def compose(runtime: Runtime, subscriptions: Subscriptions) -> DialogueParts:
        return await compose_dialogue(settings, runtime, subscriptions)

    return ServiceHost(AppId.DIALOGUE, settings, COMPONENTS, runtime).build(
        title="Helpdesk dialogue",
        description="Answers from the knowledge base (and the model, when configured); escalates to people.",
        compose=compose,
    )
