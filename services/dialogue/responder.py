"""Answer one analysed turn exactly once, whatever the pub/sub redelivers."""

from __future__ import annotations

import time

from openfeature.evaluation_context import EvaluationContext

from helpdesk.dapr.ports import ETagMismatch
from helpdesk.dapr.state import Records
from helpdesk.events import AnswerMode, ChatAnalyzed, ChatAnswered, ChatEscalated, Language, Usage, Variant
from helpdesk.flags import Flag
from helpdesk.logging import get_logger
from helpdesk.runtime import RuntimeOf
from helpdesk.telemetry import STAGE_SECONDS
from services.dialogue.composer import LLM_MODE, AnswerComposer, FlagValues
from services.dialogue.knowledge.metrics import DECISIONS, RETRIEVAL_CONFIDENCE
from services.dialogue.memory import ConversationMemory, RememberedTurn
from services.dialogue.policy import Answer, AnswerPolicy, Decision, reply_language
from services.dialogue.settings import DialogueSettings

_log = get_logger(__name__)

Outcome = ChatAnswered | ChatEscalated

MODEL_DEFAULT = "gpt-4o-mini"
BUDGET_DEFAULT = "faq_only"


def outcome_event(
    event: ChatAnalyzed,
    decision: Decision,
    elapsed_ms: float,
    language: Language,
    *,
    variant: Variant | None = None,
    usage: Usage | None = None,
    refusal: str | None = None,
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
    stored = memory.outcome_of(event.turn_id)
    if stored is None:
        return None
    model = ChatEscalated if stored.topic == ChatEscalated.topic.value else ChatAnswered
    return model.model_validate(stored.event)


def _record(decision: Decision) -> None:
    DECISIONS.labels(decision.reason or "unknown").inc()
    retrieval = decision.retrieval
    if retrieval is not None:
        RETRIEVAL_CONFIDENCE.observe(retrieval.confidence)
    _log.info(
        "turn_decided",
        reason=decision.reason,
        confidence=round(retrieval.confidence, 3) if retrieval is not None else None,
        kb_version=decision.kb_version,
    )


class Responder:
    def __init__(
        self,
        settings: DialogueSettings,
        runtime: RuntimeOf,
        policy: AnswerPolicy,
        composer: AnswerComposer | None = None,
    ) -> None:
        self._settings = settings
        self._runtime = runtime
        self.policy = policy
        self.composer = composer or AnswerComposer(None)

    @property
    def memories(self) -> Records[ConversationMemory]:
        return Records(
            self._runtime().state, ConversationMemory, "conversation", self._settings.conversation_ttl_seconds
        )

    def _handoff_enabled(self, event: ChatAnalyzed) -> bool:
        context = EvaluationContext(targeting_key=event.channel.user_id)
        return bool(self._runtime().flags.get_boolean_value(Flag.HANDOFF.value, True, context))

    def _flags(self, event: ChatAnalyzed) -> FlagValues:
        """This user's flag values; the prompt arm is sticky per user across replicas and services.
        The model and the budget behaviour matter only when the model answers: otherwise they are not
        evaluated (each evaluation costs tens of microseconds per turn)."""
        flags = self._runtime().flags
        context = EvaluationContext(targeting_key=event.channel.user_id)
        arm = flags.get_string_details(Flag.PROMPT_VARIANT.value, "grounded", context)
        answer_mode = flags.get_string_value(Flag.ANSWER_MODE.value, "faq", context)
        if answer_mode != LLM_MODE:
            return FlagValues(answer_mode, arm.variant or "default", arm.value, MODEL_DEFAULT, BUDGET_DEFAULT)
        return FlagValues(
            answer_mode=answer_mode,
            arm=arm.variant or "default",
            prompt=arm.value,
            model=flags.get_string_value(Flag.MODEL.value, MODEL_DEFAULT, context),
            budget_exhausted=flags.get_string_value(
                Flag.BUDGET_EXHAUSTED_BEHAVIOUR.value, BUDGET_DEFAULT, context
            ),
        )

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
            decision = self.policy.decide(event, memory, handoff_enabled=self._handoff_enabled(event))
            STAGE_SECONDS.labels("dialogue", "decide").observe(time.perf_counter() - started)
            language = reply_language(event, memory)
            composed = await self.composer.compose(event, decision, self._flags(event), language)
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
            updated = remember(memory, event, decision, outcome, self._settings.recent_turns)
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
