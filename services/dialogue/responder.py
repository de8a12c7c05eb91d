"""Answer one analysed turn exactly once, whatever the pub/sub redelivers."""

from __future__ import annotations

import time

from pydantic import ValidationError

from helpdesk.dapr.ports import ETagMismatch, KeyValueStore
from helpdesk.dapr.state import Records
from helpdesk.events import (
    AnswerMode,
    ChatAnalyzed,
    ChatAnswered,
    ChatEscalated,
    Language,
    Refusal,
    Usage,
    Variant,
)
from helpdesk.logging import get_logger
from helpdesk.telemetry import STAGE_SECONDS
from services.dialogue.composer import AnswerComposer
from services.dialogue.decision_metrics import DECISIONS, RETRIEVAL_CONFIDENCE
from services.dialogue.memory import ConversationMemory, RememberedTurn, problems
from services.dialogue.policy import Answer, AnswerPolicy, Decision, reply_language
from services.dialogue.turn_flags import TurnFlags

_log = get_logger(__name__)

Outcome = ChatAnswered | ChatEscalated


def outcome_event(
    event: ChatAnalyzed,
    decision: Decision,
    elapsed_ms: float,
    language: Language,
    *,
    variant: Variant | None = None,
    usage: Usage | None = None,
    refusal: Refusal | None = None,
) -> Outcome:
    variant = variant or Variant()
    timings = {**event.timings_ms, "dialogue": round(elapsed_ms, 3)}
    common = {
        "turn_id": event.turn_id,
        "conversation_id": event.conversation_id,
        "channel": event.channel,
        "language": language,
        "received_at": event.received_at,
        "timings_ms": timings,
    }
    outcome = decision.outcome
    if isinstance(outcome, Answer):
        return ChatAnswered(
            **common,
            question=event.redacted_text,
            answer=outcome.text,
            mode=outcome.mode,
            cited_faq_ids=list(outcome.cited_faq_ids),
            citations=list(outcome.citations),
            choices=list(outcome.choices),
            intent=event.intent.name,
            confidence=outcome.confidence,
            kb_version=decision.kb_version,
            variant=variant,
            usage=usage or Usage(),
            refusal=refusal,
            clarified=decision.clarified,
        )
    return ChatEscalated(
        **common,
        variant=variant,
        reason=outcome.reason,
        question=event.redacted_text,
        summary=outcome.summary,
        message=outcome.message,
    )


def remember(
    memory: ConversationMemory, event: ChatAnalyzed, decision: Decision, outcome: Outcome, keep_turns: int
) -> ConversationMemory:
    """The conversation after this turn: its outcome, the turn itself and any pending clarification."""
    remembered = RememberedTurn(
        turn_id=event.turn_id,
        question=event.redacted_text,
        answer=outcome.answer if isinstance(outcome, ChatAnswered) else outcome.message,
        mode=outcome.mode if isinstance(outcome, ChatAnswered) else AnswerMode.HANDOFF,
        intent=event.intent.name,
        cited_faq_ids=outcome.cited_faq_ids if isinstance(outcome, ChatAnswered) else [],
    )
    return memory.after(
        outcome, remembered=remembered, clarification=decision.clarification, keep_turns=keep_turns
    )


def stored_outcome(memory: ConversationMemory, event: ChatAnalyzed) -> Outcome | None:
    """The outcome stored for a redelivered turn, or None when it is no longer kept or was stored
    before the events had their bounds and no longer fits them: it was published then, and a copy
    today's consumers would refuse is not worth dead-lettering the turn over."""
    stored = memory.outcome_of(event.turn_id)
    if stored is None:
        return None
    model = ChatEscalated if stored.topic == ChatEscalated.topic.value else ChatAnswered
    try:
        return model.model_validate(stored.event)
    except ValidationError as exc:
        _log.warning(
            "stored_outcome_dropped",
            conversation_id=str(event.conversation_id),
            problems=problems(exc),
        )
        return None


def _record(decision: Decision) -> None:
    DECISIONS.labels(decision.label).inc()
    retrieval = decision.retrieval
    if retrieval is not None:
        RETRIEVAL_CONFIDENCE.observe(retrieval.confidence)
    _log.info(
        "turn_decided",
        reason=decision.label,
        confidence=round(retrieval.confidence, 3) if retrieval is not None else None,
        kb_version=decision.kb_version,
    )


def conversation_records(store: KeyValueStore, ttl_seconds: int) -> Records[ConversationMemory]:
    return Records(store, ConversationMemory, "conversation", ttl_seconds)


class Responder:
    def __init__(
        self,
        memories: Records[ConversationMemory],
        flags: TurnFlags,
        policy: AnswerPolicy,
        composer: AnswerComposer,
        *,
        recent_turns: int,
    ) -> None:
        self.memories = memories
        self._flags = flags
        self.policy = policy
        self._composer = composer
        self._recent_turns = recent_turns

    async def respond(self, event: ChatAnalyzed) -> Outcome | None:
        """The outcome to publish for this turn (the stored one on a redelivery), or None when the
        turn was answered so long ago that its outcome is no longer kept (already delivered then).

        Two state calls per turn: a read, then the write of the conversation with this turn's outcome
        (with the etag read, or create-if-absent for a new conversation). A write that loses a race
        re-reads: a concurrent delivery of the same turn then finds its outcome stored."""
        for _ in range(8):
            loaded = await self.memories.load(event.conversation_id)
            if loaded is None:
                memory = ConversationMemory(
                    conversation_id=event.conversation_id, user_id=event.channel.user_id
                )
                etag: str | None = None
            else:
                memory, etag = loaded
                if memory.already_answered(event.turn_id):
                    _log.info("turn_redelivered", conversation_id=str(event.conversation_id))
                    return stored_outcome(memory, event)
            started = time.perf_counter()
            user_id = event.channel.user_id
            decision = self.policy.decide(event, memory, handoff_enabled=self._flags.handoff_enabled(user_id))
            STAGE_SECONDS.labels("dialogue", "decide").observe(time.perf_counter() - started)
            language = reply_language(event, memory)
            composed = await self._composer.compose(event, decision, self._flags.answering(user_id), language)
            decision = composed.decision
            elapsed_ms = (time.perf_counter() - started) * 1000
            outcome = outcome_event(
                event,
                decision,
                elapsed_ms,
                language,
                variant=composed.variant,
                usage=composed.usage,
                refusal=composed.refusal,
            )
            updated = remember(memory, event, decision, outcome, self._recent_turns)
            try:
                if etag is None:
                    if not await self.memories.create(event.conversation_id, updated):
                        continue
                else:
                    await self.memories.save(event.conversation_id, updated, etag=etag)
            except ETagMismatch:
                continue
            _record(decision)
            return outcome
        raise ETagMismatch(f"conversation {event.conversation_id} kept changing")
