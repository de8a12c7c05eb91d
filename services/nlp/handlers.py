"""nlp's one subscription: analyse the request and publish the analysis."""

from __future__ import annotations

from helpdesk.dapr.ports import EventPublisher
from helpdesk.dapr.subscriptions import Delivery, Subscriptions
from helpdesk.events import ChatRequested
from helpdesk.logging import get_logger
from helpdesk.topics import Topic
from services.nlp.pipeline import Analyzer
from services.nlp.turn_analysis import analyzed_event

_log = get_logger(__name__)


def register(subscriptions: Subscriptions, analyzer: Analyzer, publisher: EventPublisher) -> None:
    @subscriptions.on(Topic.CHAT_REQUESTED, ChatRequested)
    async def analyze(event: ChatRequested, _: Delivery) -> None:
        analyzed = analyzed_event(event, analyzer)
        await publisher.publish(analyzed)
        _log.info(
            "turn_analyzed",
            language=analyzed.language.value,
            intent=analyzed.intent.name,
            confidence=round(analyzed.intent.confidence, 3),
            out_of_scope=analyzed.out_of_scope,
            injection_suspected=analyzed.injection_suspected,
        )
