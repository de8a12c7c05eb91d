"""Conversation memory, and the record of what was already answered.

The outcome of every turn is stored inside the conversation document it belongs to, and that one
document is written with its etag. So a redelivered `chat.analyzed` finds its turn already answered and
republishes the same outcome (downstream consumers are idempotent too), and two concurrent deliveries of
the same turn cannot both append an answer: the second one's write fails on the etag, it re-reads, and
finds the first one's outcome.

A conversation is kept for days (`conversation_ttl_seconds`), so what is read may have been written
before the events had their bounds (helpdesk.events.bounds). Reading repairs such a record instead of
refusing it, since a refusal would dead-letter the user's next turn: a pending clarification's texts
are shortened to their bounds, and one that still cannot be offered again (an id longer than any
event carries, more choices than an answer holds, a field missing) is dropped with a warning that
names the conversation and the fields, never their text. What dialogue writes is held to the bounds.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, Field, ValidationError, model_validator

from helpdesk.events import (
    MAX_CHOICE_CHARS,
    MAX_CLARIFIED_CHOICES,
    MAX_MESSAGE_CHARS,
    AnswerMode,
    ChatAnswered,
    ChatEscalated,
    Choice,
    Language,
    shortened,
    utcnow,
)
from helpdesk.logging import get_logger

_log = get_logger(__name__)


class RememberedTurn(BaseModel):
    turn_id: UUID
    question: str
    """Redacted."""
    answer: str
    mode: AnswerMode
    intent: str | None = None
    cited_faq_ids: list[str] = Field(default_factory=list)
    at: datetime = Field(default_factory=utcnow)


class PendingClarification(BaseModel):
    """A clarification waiting for the user's pick; once resolved it is published as `Clarified`,
    whose bounds it keeps."""

    choices: list[Choice] = Field(max_length=MAX_CLARIFIED_CHOICES)
    question: str = Field(max_length=MAX_MESSAGE_CHARS)
    """Redacted."""
    asked_in: UUID


def problems(exc: ValidationError) -> list[str]:
    """Where a stored record failed validation and why, without the values: they may be user text."""
    return sorted(
        {f"{'.'.join(str(part) for part in error['loc'])}: {error['type']}" for error in exc.errors()}
    )


def _within_bounds(stored: object) -> object:
    """A stored pending clarification with its texts shortened to today's bounds."""
    if not isinstance(stored, dict):
        return stored
    repaired = dict(stored)
    if isinstance(question := stored.get("question"), str):
        repaired["question"] = shortened(question, MAX_MESSAGE_CHARS)
    if isinstance(choices := stored.get("choices"), list):
        repaired["choices"] = [
            {**choice, "question": shortened(choice["question"], MAX_CHOICE_CHARS)}
            if isinstance(choice, dict) and isinstance(choice.get("question"), str)
            else choice
            for choice in choices
        ]
    return repaired


def _kept_clarification(stored: object, conversation_id: object) -> PendingClarification | None:
    """The stored pending clarification as it can still be offered, or None when it cannot: the turn
    is then answered as a new question rather than dead-lettered. Repaired only when it fails as
    stored (a record from before the bounds), so reading today's records costs nothing more."""
    with contextlib.suppress(ValidationError):
        return PendingClarification.model_validate(stored)
    try:
        return PendingClarification.model_validate(_within_bounds(stored))
    except ValidationError as exc:
        _log.warning(
            "stored_clarification_dropped",
            conversation_id=str(conversation_id),
            problems=problems(exc),
        )
        return None


class StoredOutcome(BaseModel):
    turn_id: UUID
    topic: str
    event: dict[str, Any]


class ConversationMemory(BaseModel):
    conversation_id: UUID
    user_id: str
    language: Language | None = None
    turns: list[RememberedTurn] = Field(default_factory=list)
    clarification: PendingClarification | None = None
    escalated: bool = False
    outcomes: list[StoredOutcome] = Field(default_factory=list)
    answered_turn_ids: list[UUID] = Field(default_factory=list)

    KEEP_OUTCOMES: ClassVar[int] = 20
    KEEP_TURN_IDS: ClassVar[int] = 500

    @model_validator(mode="before")
    @classmethod
    def _as_stored(cls, data: Any) -> Any:
        """A record read from the store (a mapping, not objects dialogue built) with its pending
        clarification repaired or dropped (see the module's docstring)."""
        if not isinstance(data, dict):
            return data
        stored = data.get("clarification")
        if stored is None or isinstance(stored, PendingClarification):
            return data
        return {**data, "clarification": _kept_clarification(stored, data.get("conversation_id"))}

    def outcome_of(self, turn_id: UUID) -> StoredOutcome | None:
        return next((o for o in self.outcomes if o.turn_id == turn_id), None)

    def already_answered(self, turn_id: UUID) -> bool:
        return turn_id in self.answered_turn_ids

    def after(
        self,
        outcome: ChatAnswered | ChatEscalated,
        *,
        remembered: RememberedTurn,
        clarification: PendingClarification | None,
        keep_turns: int,
    ) -> ConversationMemory:
        stored = StoredOutcome(
            turn_id=outcome.turn_id, topic=type(outcome).topic.value, event=outcome.model_dump(mode="json")
        )
        return self.model_copy(
            update={
                "language": outcome.language,
                "turns": [*self.turns, remembered][-keep_turns:],
                "clarification": clarification,
                "escalated": self.escalated or isinstance(outcome, ChatEscalated),
                "outcomes": [*self.outcomes, stored][-self.KEEP_OUTCOMES :],
                "answered_turn_ids": [*self.answered_turn_ids, outcome.turn_id][-self.KEEP_TURN_IDS :],
            }
        )
