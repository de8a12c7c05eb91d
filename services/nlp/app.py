"""The nlp service: stateless analysis of every chat message, scaled by its queue."""

from __future__ import annotations

from fastapi import FastAPI

from helpdesk.runtime import Runtime
from helpdesk.topics import AppId, Component
from helpdesk.web import ServiceHost
from services.nlp import handlers, models
from services.nlp.pipeline import Analyzer
from services.nlp.settings import NlpSettings

COMPONENTS = [Component.PUBSUB, Component.CONFIGSTORE]


def create_app(settings: NlpSettings | None = None, runtime: Runtime | None = None) -> FastAPI:
    settings = settings or NlpSettings()
    host = ServiceHost(AppId.NLP, settings, COMPONENTS, runtime)
    classifier = models.load_for(settings)
    analyzer = Analyzer(classifier)
    analyzer.warm_up()
    handlers.register(host.subscriptions, analyzer, lambda: host.runtime)
    return host.build(
        title="Helpdesk nlp",
        description="Language, tokens, intent, entities and redaction for every chat message.",
    )
