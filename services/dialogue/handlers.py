"""dialogue's subscriptions: answer analysed turns; follow knowledge-base updates."""

from __future__ import annotations

from helpdesk.dapr.ports import EventPublisher, KeyValueStore
from helpdesk.dapr.subscriptions import Delivery, Drop, Subscriptions
from helpdesk.events import ChatAnalyzed, ChatAnswered, KbUpdated
from helpdesk.knowledge.entries import InvalidKnowledge
from helpdesk.logging import get_logger
from helpdesk.topics import Component, Topic
from services.dialogue.knowledge.knowledge_metrics import KB_UPDATES
from services.dialogue.knowledge.library import KnowledgeLibrary
from services.dialogue.responder import Responder

_log = get_logger(__name__)


def register(
    subscriptions: Subscriptions,
    responder: Responder,
    library: KnowledgeLibrary,
    publisher: EventPublisher,
    store: KeyValueStore,
) -> None:
    @subscriptions.on(Topic.CHAT_ANALYZED, ChatAnalyzed)
    async def answer(event: ChatAnalyzed, _: Delivery) -> None:
        outcome = await responder.respond(event)
        if outcome is None:
            return
        await publisher.publish(outcome)
        if isinstance(outcome, ChatAnswered):
            _log.info("turn_answered", mode=outcome.mode.value, cited=outcome.cited_faq_ids)
        else:
            _log.info("turn_escalated", reason=outcome.reason.value)

    @subscriptions.on(Topic.KB_UPDATED, KbUpdated)
    async def store_update(event: KbUpdated, _: Delivery) -> None:
        """One replica writes the update into the stored knowledge base (and re-indexes its own)."""
        try:
            applied = await library.persist(event, store)
        except InvalidKnowledge as exc:
            KB_UPDATES.labels("store", "invalid").inc()
            raise Drop(str(exc)) from exc
        _log.info(
            "knowledge_updated", kb_version=event.kb_version, update_id=str(event.update_id), stored=applied
        )

    @subscriptions.on(Topic.KB_UPDATED, KbUpdated, pubsub=Component.BROADCAST)
    async def reindex(event: KbUpdated, _: Delivery) -> None:
        """Every replica re-indexes from the event's own entries, without waiting for the store."""
        try:
            await library.apply(event)
        except InvalidKnowledge as exc:
            KB_UPDATES.labels("live", "invalid").inc()
            _log.warning("knowledge_update_rejected", update_id=str(event.update_id), reason=str(exc))
