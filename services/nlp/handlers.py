"""nlp's one subscription: analyse the request and publish the analysis."""

from __future__ import annotations

import time

from helpdesk.dapr.subscriptions import Delivery, Subscriptions
from helpdesk.events import ChatAnalyzed, ChatRequested
from helpdesk.runtime import RuntimeOf
from helpdesk.telemetry import STAGE_SECONDS
from helpdesk.topics import Topic
from services.nlp.pipeline import Analyzer


def analyzed_event(event: ChatRequested, analyzer: Analyzer) -> ChatAnalyzed:
    started = time.perf_counter()
    analysis = analyzer.analyze(event.text, event.locale_hint)
    elapsed_ms = (time.perf_counter() - started) * 1000
    STAGE_SECONDS.labels("nlp", "analyze").observe(elapsed_ms / 1000)
    return ChatAnalyzed(
        **event.model_dump(),
        language=analysis.language,
        normalised_text=analysis.normalised_text,
        tokens=analysis.tokens,
        intent=analysis.intent,
        out_of_scope=analysis.out_of_scope,
        entities=analysis.entities,
        redacted_text=analysis.redacted_text,
        injection_suspected=analysis.injection_suspected,
        timings_ms={"nlp": round(elapsed_ms, 3)},
    )


def register(subscriptions: Subscriptions, analyzer: Analyzer, runtime: RuntimeOf) -> None:
    @subscriptions.on(Topic.CHAT_REQUESTED, ChatRequested)
    async def analyze(event: ChatRequested, _: Delivery) -> None:
        await runtime().bus.publish(analyzed_event(event, analyzer))
