"""The evaluator's subscriptions: thin adapters from deliveries to the evaluator's domain code."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from helpdesk.dapr.state import Records
from helpdesk.dapr.subscriptions import Delivery, Drop, Retry, Subscriptions
from helpdesk.events import ChatAnswered, ChatEscalated, FeedbackSubmitted, HandoffReplied, KbUpdated
from helpdesk.logging import get_logger
from helpdesk.runtime import RuntimeOf
from helpdesk.telemetry import DEAD_LETTERS
from helpdesk.topics import Component, Topic
from services.evaluator.deadletters import DeadLetter, describe
from services.evaluator.evaluation import UnknownTurn
from services.evaluator.ledger import NotYetCounted
from services.evaluator.service import Evaluator

_log = get_logger(__name__)


Handlers = dict[Topic, Callable[[Any, Delivery], Awaitable[None]]]


def register(subscriptions: Subscriptions, runtime: RuntimeOf, evaluator: Evaluator) -> Handlers:
    """Subscribe the evaluator's handlers; returns them by topic (the throughput benchmark calls them)."""

    def dead_letters() -> Records[DeadLetter]:
        return Records(runtime().state, DeadLetter, "deadletter")

    @subscriptions.on(Topic.CHAT_ANSWERED, ChatAnswered)
    async def score_answer(event: ChatAnswered, _: Delivery) -> None:
        try:
            record = await evaluator.turns.answered(event)
        except NotYetCounted as exc:
            raise Retry(str(exc)) from exc
        if record is not None:
            evaluator.judge.offer(record)
            _log.info(
                "answer_scored",
                mode=record.mode.value,
                variant=record.variant.name,
                relevance=record.relevance,
            )

    @subscriptions.on(Topic.CHAT_ESCALATED, ChatEscalated)
    async def score_escalation(event: ChatEscalated, _: Delivery) -> None:
        try:
            record = await evaluator.turns.escalated(event)
        except NotYetCounted as exc:
            raise Retry(str(exc)) from exc
        if record is not None:
            _log.info("escalation_scored", reason=event.reason.value, variant=record.variant.name)

    @subscriptions.on(Topic.HANDOFF_REPLIED, HandoffReplied)
    async def learn_from_handoff(event: HandoffReplied, _: Delivery) -> None:
        try:
            question = await evaluator.turns.handoff_question(event)
        except NotYetCounted as exc:
            raise Retry(str(exc)) from exc
        candidate = await evaluator.candidates.from_handoff(event.model_copy(update={"question": question}))
        if candidate is None:
            _log.info("handoff_reply_without_question")
            return
        _log.info("faq_candidate_drafted", candidate_id=candidate.id, status=candidate.status.value)

    @subscriptions.on(Topic.FEEDBACK_SUBMITTED, FeedbackSubmitted)
    async def record_feedback(event: FeedbackSubmitted, _: Delivery) -> None:
        try:
            counted = await evaluator.turns.rated(event)
        except NotYetCounted as exc:
            raise Retry(str(exc)) from exc
        except UnknownTurn as exc:
            raise Drop("feedback for a turn that was never evaluated") from exc
        _log.info("feedback_recorded", rating=event.rating.value, counted=counted)

    @subscriptions.on(Topic.KB_UPDATED, KbUpdated, pubsub=Component.BROADCAST)
    async def follow_knowledge(event: KbUpdated, _: Delivery) -> None:
        evaluator.library.observe(event)
        _log.info("knowledge_followed", kb_version=event.kb_version, entries=len(event.entries))

    @subscriptions.on_dead_letters
    async def record_dead_letter(envelope: dict[str, Any], delivery: Delivery) -> None:
        letter = describe(delivery.topic, envelope)
        ident = letter.id or delivery.id
        if await dead_letters().create(ident, letter):
            DEAD_LETTERS.labels(delivery.topic).inc()
            _log.warning(
                "dead_letter_recorded",
                dead_letter_topic=delivery.topic,
                consumer=letter.consumer,
                turn_id=letter.turn_id,
            )

    return {
        Topic.CHAT_ANSWERED: score_answer,
        Topic.CHAT_ESCALATED: score_escalation,
        Topic.HANDOFF_REPLIED: learn_from_handoff,
        Topic.FEEDBACK_SUBMITTED: record_feedback,
    }
