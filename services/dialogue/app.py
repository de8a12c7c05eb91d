"""The dialogue service: decides every answer, remembers conversations, owns the knowledge base."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from helpdesk.background import Background
from helpdesk.dapr.ports import ETagMismatch, SidecarUnavailable
from helpdesk.logging import get_logger
from helpdesk.runtime import Runtime
from helpdesk.topics import AppId, Component
from helpdesk.web import ServiceHost
from services.dialogue import handlers
from services.dialogue.composer import AnswerComposer
from services.dialogue.generation.generator import Generator
from services.dialogue.knowledge.library import KnowledgeLibrary
from services.dialogue.policy import AnswerPolicy, PolicySettings
from services.dialogue.responder import Responder
from services.dialogue.settings import DialogueSettings

COMPONENTS = [
    Component.PUBSUB,
    Component.BROADCAST,
    Component.STATESTORE,
    Component.CONFIGSTORE,
    Component.SECRETSTORE,
]

_log = get_logger(__name__)


class KnowledgeRefresher:
    """Periodically adopts the stored knowledge base if this replica missed a live update."""

    def __init__(self, library: KnowledgeLibrary, interval_seconds: float) -> None:
        self._library = library
        self._interval = interval_seconds
        self._background: Background | None = None

    async def start(self, runtime: Runtime) -> None:
        await self._library.start(runtime.state)
        if self._interval > 0:
            self._background = Background(lambda: self._run(runtime))
            self._background.start()

    async def stop(self, _: Runtime) -> None:
        if self._background is not None:
            await self._background.stop()

    async def _run(self, runtime: Runtime) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                if await self._library.refresh(runtime.state):
                    _log.info("knowledge_refreshed", kb_version=self._library.index.kb_version)
            except (SidecarUnavailable, ETagMismatch, ValueError) as exc:
                _log.warning("knowledge_refresh_failed", error_type=type(exc).__name__)


def create_app(settings: DialogueSettings | None = None, runtime: Runtime | None = None) -> FastAPI:
    settings = settings or DialogueSettings()
    host = ServiceHost(AppId.DIALOGUE, settings, COMPONENTS, runtime)
    library = KnowledgeLibrary(settings.knowledge_path)
    policy = AnswerPolicy(
        lambda: library.index,
        PolicySettings(
            answer_confidence=settings.answer_confidence, clarify_confidence=settings.clarify_confidence
        ),
    )
    composer = AnswerComposer(None)
    responder = Responder(settings, lambda: host.runtime, policy, composer)
    handlers.register(host.subscriptions, responder, library, lambda: host.runtime)
    refresher = KnowledgeRefresher(library, settings.knowledge_refresh_seconds)

    async def open_generator(rt: Runtime) -> None:
        composer.generator = await Generator.open(settings.generation, rt.state, rt.secrets)

    async def close_generator(_: Runtime) -> None:
        if composer.generator is not None:
            await composer.generator.close()

    app = host.build(
        title="Helpdesk dialogue",
        description="Answers from the knowledge base (and the model, when configured); escalates to people.",
        on_start=[refresher.start, open_generator],
        on_stop=[refresher.stop, close_generator],
    )
    app.state.knowledge = library
    return app
