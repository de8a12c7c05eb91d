"""dialogue's subscriptions: answer analysed turns; follow knowledge-base updates."""

from __future__ import annotations

from helpdesk.dapr.subscriptions import Delivery, Subscriptions
from helpdesk.events import ChatAnalyzed
from helpdesk.runtime import RuntimeOf
from helpdesk.topics import Topic
from services.dialogue.responder import Responder


def register(subscriptions: Subscriptions, responder: Responder, runtime: RuntimeOf) -> None:
    @subscriptions.on(Topic.CHAT_ANALYZED, ChatAnalyzed)
    async def answer(event: ChatAnalyzed, _: Delivery) -> None:
        outcome = await responder.respond(event)
        if outcome is not None:
            await runtime().bus.publish(outcome)
