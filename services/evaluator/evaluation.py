"""The evaluator's core: score each turn once, join ratings and judge verdicts to it, keep the totals.

Plain Python over the state-store and aggregate-ledger ports; the subscription handlers call it and
the operator API reads through it. Idempotency: every fact is created once (see
`helpdesk.aggregates.ledger`), the session record remembers each turn's contribution, and joins onto
the evaluation record are etag-checked read-modify-writes that are no-ops the second time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar
from uuid import UUID

from pydantic import BaseModel

from helpdesk.aggregates import AggregateLedger, bucket_key, hour_of
from helpdesk.dapr.ports import ETagMismatch, KeyValueStore
from helpdesk.events import (
    AnswerMode,
    ChatAnswered,
    ChatEscalated,
    EscalationReason,
    FeedbackSubmitted,
    HandoffReplied,
    Rating,
    Variant,
    utcnow,
)
from helpdesk.text.pii import redact_text as redact
from services.evaluator.conversation_outcomes import handoff_question, observe_rating, observe_turn
from services.evaluator.knowledge import KnowledgeFollower
from services.evaluator.records import (
    EvaluationRecord,
    FeedbackFact,
    JudgementFact,
    JudgeScores,
    SessionRecord,
    TurnFeedback,
    stored_json,
)
from services.evaluator.scores.turn_scores import (
    END_TO_END,
    evaluate_answer,
    evaluate_escalation,
    judge_tally,
    question_terms,
    rating_tally,
    turn_tally,
)

M = TypeVar("M", bound=BaseModel)

UNKNOWN_TURN_PATIENCE = timedelta(minutes=10)
"""How long a rating may wait for its turn's evaluation before it is given up as referring to nothing."""
HANDOFF_PATIENCE = timedelta(minutes=10)
"""How long an agent's reply waits for its escalation to be evaluated. Normally the escalation is
milliseconds ahead; after an outage both drain from the backlog, and the sidecar's retries (then the
dead-letter topic, which the recorder keeps for replay) bound the wait."""


class UnknownTurn(Exception):
    """A rating for a turn the evaluator never saw (and, after a while, never will)."""


class TurnNotYetEvaluated(Exception):
    """The event refers to a turn whose evaluation has not arrived yet: deliver it again later."""


def evaluation_key(turn_id: UUID) -> str:
    return f"evaluation:{turn_id}"


class TurnEvaluator:
    def __init__(
        self,
        state: KeyValueStore,
        ledger: AggregateLedger,
        knowledge: KnowledgeFollower,
        retention_seconds: int,
    ) -> None:
        """`knowledge` is read at every answer: its copy follows the knowledge base as it changes."""
        self._state = state
        self._ledger = ledger
        self._knowledge = knowledge
        self._ttl = retention_seconds

    # ---- facts -------------------------------------------------------------------------------------

    async def answered(self, event: ChatAnswered) -> EvaluationRecord | None:
        """Score an answer. Returns the record when this delivery counted it, None when already done."""
        record = evaluate_answer(event, self._knowledge.copy)
        return await self._fold_turn(record)

    async def escalated(self, event: ChatEscalated) -> EvaluationRecord | None:
        variant = event.variant
        if variant == Variant():
            session = await self._get(f"session:{event.conversation_id}", SessionRecord)
            if session is not None and session.variant != variant.name:
                variant = Variant(name=session.variant)
        return await self._fold_turn(evaluate_escalation(event, variant))

    async def _fold_turn(self, record: EvaluationRecord) -> EvaluationRecord | None:
        delta: dict[str, float] = {}
        reasked = False

        def change(session: SessionRecord | None) -> SessionRecord | None:
            nonlocal delta, reasked
            updated, delta, reasked = observe_turn(
                session,
                record.conversation_id,
                record.turn_id,
                question_terms(record),
                escalated=record.escalated,
                variant=record.variant.name,
                substantive=record.mode is not AnswerMode.SMALLTALK
                and record.escalation_reason is not EscalationReason.USER_ASKED,
                open_question=record.question if _unanswered(record) else None,
                answered=record.mode in (AnswerMode.FAQ, AnswerMode.LLM),
                escalation_reason=record.escalation_reason,
            )
            return None if updated is session else updated

        await self._update(f"session:{record.conversation_id}", SessionRecord, change)
        record = record.model_copy(update={"reasked": reasked})
        counted = await self._ledger.fold(
            evaluation_key(record.turn_id),
            record,
            turn_tally(record, delta),
            bucket_key(hour_of(record.occurred_at), record.variant.name),
            recent=_recent(record),
            ttl_seconds=self._ttl,
        )
        return record if counted else None

    async def rated(self, event: FeedbackSubmitted) -> bool:
        """Join a thumbs rating (and its redacted comment) to its turn and count it once.

        Raises `TurnNotYetEvaluated` while the turn's evaluation has not arrived yet, and `UnknownTurn`
        once it is too late for it to arrive; `NotYetCounted` when the ledger asks for a redelivery.
        """
        record = await self.evaluation(event.turn_id)
        if record is None:
            if utcnow() - event.occurred_at > UNKNOWN_TURN_PATIENCE:
                raise UnknownTurn(str(event.turn_id))
            raise TurnNotYetEvaluated("the rated turn has not been evaluated yet")
        comment = redact(event.comment).strip() or None if event.comment else None
        feedback = TurnFeedback(rating=event.rating, comment=comment, at=event.occurred_at)

        def join(current: EvaluationRecord | None) -> EvaluationRecord | None:
            if current is None or current.feedback is not None:
                return None
            return current.model_copy(update={"feedback": feedback})

        await self._update(evaluation_key(event.turn_id), EvaluationRecord, join)
        variant = record.variant.name
        delta: dict[str, float] = {}

        def change(session: SessionRecord | None) -> SessionRecord | None:
            nonlocal delta
            updated, delta = observe_rating(
                session, record.conversation_id, event.turn_id, event.rating, variant
            )
            return None if updated is session else updated

        await self._update(f"session:{record.conversation_id}", SessionRecord, change)
        return await self._ledger.fold(
            f"rating:{event.turn_id}",
            FeedbackFact(turn_id=event.turn_id, rating=event.rating, variant=variant),
            rating_tally(event.rating is Rating.UP, comment is not None, delta),
            bucket_key(hour_of(event.occurred_at), variant),
            ttl_seconds=self._ttl,
        )

    async def judged(self, record: EvaluationRecord, scores: JudgeScores) -> bool:
        def join(current: EvaluationRecord | None) -> EvaluationRecord | None:
            if current is None or current.judge is not None:
                return None
            return current.model_copy(update={"judge": scores})

        await self._update(evaluation_key(record.turn_id), EvaluationRecord, join)
        return await self._ledger.fold(
            f"judgement:{record.turn_id}",
            JudgementFact(turn_id=record.turn_id, variant=record.variant.name, scores=scores),
            judge_tally(scores),
            bucket_key(hour_of(record.occurred_at), record.variant.name),
            ttl_seconds=self._ttl,
        )

    async def handoff_question(self, event: HandoffReplied) -> str | None:
        """The question the agent answered (see `conversation_outcomes.handoff_question`).

        A reply always follows an escalation, but topics are delivered independently: until the
        escalation has been evaluated (for at most `HANDOFF_PATIENCE`) this raises
        `TurnNotYetEvaluated`."""
        session = await self._get(f"session:{event.conversation_id}", SessionRecord)
        seen = session is not None and session.escalation_reason is not None
        if not seen and utcnow() - event.occurred_at < HANDOFF_PATIENCE:
            raise TurnNotYetEvaluated("the escalation this reply answers has not been evaluated yet")
        return handoff_question(session, event.question)

    # ---- reading -----------------------------------------------------------------------------------

    async def evaluation(self, turn_id: UUID) -> EvaluationRecord | None:
        return await self._get(evaluation_key(turn_id), EvaluationRecord)

    # ---- state helpers -----------------------------------------------------------------------------

    async def _get(self, key: str, model: type[M]) -> M | None:
        stored = await self._state.get(key)
        return model.model_validate_json(stored.value) if stored else None

    async def _update(self, key: str, model: type[M], change: Callable[[M | None], M | None]) -> None:
        store = self._state
        for _ in range(16):
            stored = await store.get(key)
            current = model.model_validate_json(stored.value) if stored else None
            updated = change(current)
            if updated is None:
                return
            payload = stored_json(updated)
            try:
                if stored is None:
                    if await store.create(key, payload, ttl_seconds=self._ttl):
                        return
                    continue
                await store.save(key, payload, etag=stored.etag, ttl_seconds=self._ttl)
                return
            except ETagMismatch:
                continue
        raise ETagMismatch(f"{key} kept changing")


UNANSWERED_MODES = frozenset({AnswerMode.FALLBACK, AnswerMode.CLARIFY})


def _unanswered(record: EvaluationRecord) -> bool:
    if record.escalated:
        return record.escalation_reason is not EscalationReason.USER_ASKED
    return record.mode in UNANSWERED_MODES


def _recent(record: EvaluationRecord) -> dict[str, Any]:
    return {
        "turn_id": str(record.turn_id),
        "at": record.occurred_at.isoformat(),
        "variant": record.variant.name,
        "mode": record.mode.value,
        "language": record.language.value,
        "question": record.question[:160],
        "sources": [source.label for source in record.sources],
        "relevance": record.relevance,
        "groundedness": record.groundedness,
        "latency_ms": record.timings_ms.get(END_TO_END),
        "cost_usd": record.cost_usd,
    }
