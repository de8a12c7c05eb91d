"""The nlp service: stateless analysis of every chat message, scaled by its queue."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI

from helpdesk.dapr.subscriptions import Subscriptions
from helpdesk.runtime import Runtime
from helpdesk.topics import AppId, Component
from helpdesk.web import ServiceHost
from services.nlp import handlers, intent_model_store
from services.nlp.pipeline import Analyzer
from services.nlp.settings import NlpSettings

COMPONENTS = [Component.PUBSUB, Component.CONFIGSTORE]


@dataclass(frozen=True, slots=True)
class NlpParts:
    """nlp's parts: the analyser with the intent model it loaded (or trained) at start-up."""

    analyzer: Analyzer

    async def close(self) -> None:
        """Nothing to release: the model is plain arrays in memory."""


def create_app(settings: NlpSettings | None = None, runtime: Runtime | None = None) -> FastAPI:
    settings = settings or NlpSettings()

    async def compose(runtime: Runtime, subscriptions: Subscriptions) -> NlpParts:
        analyzer = Analyzer(intent_model_store.load_for(settings))
        analyzer.warm_up()
        handlers.register(subscriptions, analyzer, runtime.bus)
        return NlpParts(analyzer)

    return ServiceHost(AppId.NLP, settings, COMPONENTS, runtime).build(
        title="Helpdesk nlp",
        description="Language, tokens, intent, entities and redaction for every chat message.",
        compose=compose,
    )
