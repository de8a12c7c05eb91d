"""The dialogue service: decides every answer, remembers conversations, owns the knowledge base."""

from __future__ import annotations

from fastapi import FastAPI

from helpdesk.runtime import Runtime
from helpdesk.topics import AppId, Component
from helpdesk.web import ServiceHost
from services.dialogue import handlers
from services.dialogue.policy import AnswerPolicy
from services.dialogue.responder import Responder
from services.dialogue.settings import DialogueSettings

COMPONENTS = [
    Component.PUBSUB,
    Component.BROADCAST,
    Component.STATESTORE,
    Component.CONFIGSTORE,
    Component.SECRETSTORE,
]


def create_app(settings: DialogueSettings | None = None, runtime: Runtime | None = None) -> FastAPI:
    settings = settings or DialogueSettings()
    host = ServiceHost(AppId.DIALOGUE, settings, COMPONENTS, runtime)
    responder = Responder(settings, lambda: host.runtime, AnswerPolicy())
    handlers.register(host.subscriptions, responder, lambda: host.runtime)
    return host.build(
        title="Helpdesk dialogue",
        description="Answers from the knowledge base (and the model, when configured); escalates to people.",
    )
