"""The evaluator's subscriptions: thin adapters from deliveries to the evaluator's domain code."""

from __future__ import annotations

from typing import Any

from helpdesk.aggregates import NotYetCounted
from helpdesk.dapr.bulk_subscriptions import BulkDelivery
from helpdesk.dapr.ports import SidecarUnavailable
from helpdesk.dapr.state import Records
from helpdesk.dapr.subscriptions import Delivery, Drop, Retry, Subscriptions
from helpdesk.events import ChatAnswered, ChatEscalated, FeedbackSubmitted, HandoffReplied, KbUpdated
from helpdesk.knowledge.store import KnowledgeStoreBusy, KnowledgeStoreDamaged
from helpdesk.logging import get_logger
from helpdesk.telemetry import DEAD_LETTERS
from helpdesk.topics import Component, Topic
from services.evaluator.candidates.candidate_queue import CandidateQueue
from services.evaluator.dead_letter_records import DeadLetter, describe
from services.evaluator.evaluation import TurnEvaluator, TurnNotYetEvaluated, UnknownTurn
from services.evaluator.judge import JudgeWorker
from services.evaluator.knowledge import KnowledgeFollower
from services.evaluator.knowledge_sources import KnowledgeSources

_log = get_logger(__name__)

TOO_EARLY = (NotYetCounted, TurnNotYetEvaluated)
"""Deliveries that came before what they build on, or whose count is not settled yet: retried."""


class EvaluatorHandlers:
    """One method per subscription; each hands the event to the part that owns it."""

    def __init__(
        self,
        evaluations: TurnEvaluator,
        judge: JudgeWorker,
        candidates: CandidateQueue,
        knowledge: KnowledgeFollower,
        sources: KnowledgeSources,
        dead_letters: Records[DeadLetter],
    ) -> None:
        self._evaluations = evaluations
        self._judge = judge
        self._candidates = candidates
        self._knowledge = knowledge
        self._sources = sources
        self._dead_letters = dead_letters

    def subscribe(self, subscriptions: Subscriptions, bulk: BulkDelivery | None = None) -> None:
        """`bulk`: batches for the two topics every turn publishes one of. Ratings and agents' replies
        stay one by one: they are retried until their turn is evaluated, and a retried entry holds its
        subscription's next batches while the sidecar backs off."""
        subscriptions.on(Topic.CHAT_ANSWERED, ChatAnswered, bulk=bulk)(self.score_answer)
        subscriptions.on(Topic.CHAT_ESCALATED, ChatEscalated, bulk=bulk)(self.score_escalation)
        subscriptions.on(Topic.HANDOFF_REPLIED, HandoffReplied)(self.learn_from_handoff)
        subscriptions.on(Topic.FEEDBACK_SUBMITTED, FeedbackSubmitted)(self.record_feedback)
        subscriptions.on(Topic.KB_UPDATED, KbUpdated, pubsub=Component.BROADCAST)(self.follow_knowledge)
        subscriptions.on_dead_letters(self.record_dead_letter)

    async def score_answer(self, event: ChatAnswered, _: Delivery) -> None:
        try:
            record = await self._evaluations.answered(event)
        except TOO_EARLY as exc:
            raise Retry(str(exc)) from exc
        await self._candidates.learn_wording(event)
        if record is not None:
            self._judge.offer(record)
            _log.info(
                "answer_scored",
                mode=record.mode.value,
                variant=record.variant.name,
                relevance=record.relevance,
            )

    async def score_escalation(self, event: ChatEscalated, _: Delivery) -> None:
        try:
            record = await self._evaluations.escalated(event)
        except TOO_EARLY as exc:
            raise Retry(str(exc)) from exc
        if record is not None:
            _log.info("escalation_scored", reason=event.reason.value, variant=record.variant.name)

    async def learn_from_handoff(self, event: HandoffReplied, _: Delivery) -> None:
        try:
            question = await self._evaluations.handoff_question(event)
        except TOO_EARLY as exc:
            raise Retry(str(exc)) from exc
        candidate = await self._candidates.from_handoff(event.model_copy(update={"question": question}))
        if candidate is None:
            _log.info("handoff_reply_without_question")
            return
        _log.info("faq_candidate_drafted", candidate_id=candidate.id, status=candidate.status.value)

    async def record_feedback(self, event: FeedbackSubmitted, _: Delivery) -> None:
        try:
            counted = await self._evaluations.rated(event)
        except TOO_EARLY as exc:
            raise Retry(str(exc)) from exc
        except UnknownTurn as exc:
            raise Drop("feedback for a turn that was never evaluated") from exc
        _log.info("feedback_recorded", rating=event.rating.value, counted=counted)

    async def follow_knowledge(self, event: KbUpdated, _: Delivery) -> None:
        """Every replica follows the knowledge store's new version (a live copy: what fails here is
        caught up at the next refresh). A schema 1 update is laid over the copy and adopted into the
        store, so dialogue's replicas converge on it."""
        try:
            if event.carries_entries:
                self._knowledge.observe(event)
                await self._sources.adopt(event)
            else:
                await self._knowledge.refresh()
        except (SidecarUnavailable, KnowledgeStoreDamaged, KnowledgeStoreBusy) as exc:
            _log.warning(
                "knowledge_follow_deferred", kb_version=event.kb_version, error_type=type(exc).__name__
            )
            return
        _log.info(
            "knowledge_followed",
            kb_version=event.kb_version,
            schema_version=event.schema_version,
            held=self._knowledge.kb_version,
        )

    async def record_dead_letter(self, envelope: dict[str, Any], delivery: Delivery) -> None:
        letter = describe(delivery.topic, envelope)
        ident = letter.id or delivery.id
        if await self._dead_letters.create(ident, letter):
            DEAD_LETTERS.labels(delivery.topic).inc()
            _log.warning(
                "dead_letter_recorded",
                dead_letter_topic=delivery.topic,
                consumer=letter.consumer,
                turn_id=letter.turn_id,
            )
