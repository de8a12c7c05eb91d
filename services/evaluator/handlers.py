"""The evaluator's subscriptions."""

from __future__ import annotations

from typing import Any

from helpdesk.dapr.state import Records
from helpdesk.dapr.subscriptions import Delivery, Subscriptions
from helpdesk.events import ChatAnswered, ChatEscalated, FeedbackSubmitted, HandoffReplied
from helpdesk.logging import get_logger
from helpdesk.runtime import RuntimeOf
from helpdesk.telemetry import DEAD_LETTERS
from helpdesk.topics import Topic
from services.evaluator.deadletters import DeadLetter, describe

_log = get_logger(__name__)


def register(subscriptions: Subscriptions, runtime: RuntimeOf) -> None:
    def dead_letters() -> Records[DeadLetter]:
        return Records(runtime().state, DeadLetter, "deadletter")

    @subscriptions.on(Topic.CHAT_ANSWERED, ChatAnswered)
    async def score_answer(event: ChatAnswered, _: Delivery) -> None:
        _log.info("answer_seen", mode=event.mode.value)

    @subscriptions.on(Topic.CHAT_ESCALATED, ChatEscalated)
    async def note_escalation(event: ChatEscalated, _: Delivery) -> None:
        _log.info("escalation_seen", reason=event.reason.value)

    @subscriptions.on(Topic.HANDOFF_REPLIED, HandoffReplied)
    async def note_handoff_reply(event: HandoffReplied, _: Delivery) -> None:
        _log.info("handoff_reply_seen")

    @subscriptions.on(Topic.FEEDBACK_SUBMITTED, FeedbackSubmitted)
    async def note_feedback(event: FeedbackSubmitted, _: Delivery) -> None:
        _log.info("feedback_seen", rating=event.rating.value)

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
