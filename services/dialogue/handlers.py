"""dialogue's subscriptions: answer analysed turns; follow knowledge-base updates."""

from __future__ import annotations

from helpdesk.dapr.subscriptions import Delivery, Subscriptions
from helpdesk.events import ChatAnalyzed, ChatAnswered
from helpdesk.logging import get_logger
from helpdesk.runtime import RuntimeOf
from helpdesk.topics import Topic
from services.dialogue.responder import Responder

_log = get_logger(__name__)


def register(subscriptions: Subscriptions, responder: Responder, runtime: RuntimeOf) -> None:
    @subscriptions.on(Topic.CHAT_ANALYZED, ChatAnalyzed)
    async def answer(event: ChatAnalyzed, _: Delivery) -> None:
        outcome = await responder.respond(event)
        if outcome is None:
            return
        await runtime().bus.publish(outcome)
        if isinstance(outcome, ChatAnswered):
            _log.info("turn_answered", mode=outcome.mode.value, cited=outcome.cited_faq_ids)
        else:
            _log.info("turn_escalated", reason=outcome.reason.value)
