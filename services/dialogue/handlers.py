"""dialogue's subscriptions: answer analysed turns; follow knowledge-base updates."""

from __future__ import annotations

from helpdesk.dapr.ports import EventPublisher, SidecarUnavailable
from helpdesk.dapr.subscriptions import Delivery, Drop, Retry, Subscriptions
from helpdesk.events import ChatAnalyzed, ChatAnswered, KbUpdated
from helpdesk.knowledge.entries import InvalidKnowledge
from helpdesk.knowledge.store import KnowledgeStoreDamaged
from helpdesk.logging import get_logger
from helpdesk.topics import Component, Topic
from services.dialogue.knowledge.library import KnowledgeLibrary
from services.dialogue.responder import Responder

_log = get_logger(__name__)


def register(
    subscriptions: Subscriptions,
    responder: Responder,
    library: KnowledgeLibrary,
    publisher: EventPublisher,
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
    async def follow_update(event: KbUpdated, _: Delivery) -> None:
        """One replica (competing consumers) re-indexes from the knowledge store; a version the store
        cannot give yet is retried, an update with invalid entries (schema 1) dead-lettered."""
        try:
            changed = await library.follow(event, path="durable")
        except InvalidKnowledge as exc:
            raise Drop(str(exc)) from exc
        except (SidecarUnavailable, KnowledgeStoreDamaged) as exc:
            raise Retry(f"the knowledge store could not be read: {type(exc).__name__}") from exc
        _log.info(
            "knowledge_updated",
            kb_version=event.kb_version,
            update_id=str(event.update_id),
            schema_version=event.schema_version,
            indexed=library.index.kb_version,
            changed=changed,
        )

    @subscriptions.on(Topic.KB_UPDATED, KbUpdated, pubsub=Component.BROADCAST)
    async def reindex(event: KbUpdated, _: Delivery) -> None:
        """Every replica re-indexes at once; what fails here is caught up by the durable copy or the
        next refresh (live copies are best effort and never retried)."""
        try:
            await library.follow(event, path="live")
        except InvalidKnowledge as exc:
            _log.warning("knowledge_update_rejected", update_id=str(event.update_id), reason=str(exc))
        except (SidecarUnavailable, KnowledgeStoreDamaged) as exc:
            _log.warning(
                "knowledge_update_deferred", update_id=str(event.update_id), error_type=type(exc).__name__
            )
