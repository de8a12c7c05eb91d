"""nlp's one subscription: analyse the request and publish the analysis."""

from __future__ import annotations

import time

from helpdesk.dapr.subscriptions import Delivery, Subscriptions
from helpdesk.events import ChatAnalyzed, ChatRequested
from helpdesk.logging import get_logger
from helpdesk.runtime import RuntimeOf
from helpdesk.telemetry import STAGE_SECONDS
from helpdesk.topics import Topic
from services.nlp.pipeline import Analyzer

_log = get_logger(__name__)


def analyzed_event(event: ChatRequested, analyzer: Analyzer) -> ChatAnalyzed:
    started = time.perf_counter()
    analysis = analyzer.analyze(event.text, event.locale_hint)
    elapsed_ms = (time.perf_counter() - started) * 1000
    STAGE_SECONDS.labels("nlp", "analyze").observe(elapsed_ms / 1000)
    return ChatAnalyzed(
        **event.model_dump(exclude={"occurred_at", "text"}),
        text=analysis.text,
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
        analyzed = analyzed_event(event, analyzer)
        await runtime().bus.publish(analyzed)
        _log.info(
            "turn_analyzed",
            language=analyzed.language.value,
            intent=analyzed.intent.name,
            confidence=round(analyzed.intent.confidence, 3),
            out_of_scope=analyzed.out_of_scope,
            injection_suspected=analyzed.injection_suspected,
        )
