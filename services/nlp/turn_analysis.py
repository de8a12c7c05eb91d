"""One chat turn through the analysis: the `chat.analyzed` event nlp publishes for a `chat.requested`.

The service's subscription and the offline evaluation (`make eval`) both build the event here, so what
the evaluation scores is what the service publishes."""

from __future__ import annotations

import time

from helpdesk.events import ChatAnalyzed, ChatRequested
from helpdesk.telemetry import STAGE_SECONDS
from services.nlp.pipeline import Analyzer


def analyzed_event(event: ChatRequested, analyzer: Analyzer) -> ChatAnalyzed:
    """The request's analysis as an event: every field of the request but its raw text, which is replaced
    by the redacted one, and nlp's time spent in `timings_ms`."""
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
