"""Conversation memory, and the record of what was already answered.

The outcome of every turn is stored inside the conversation document it belongs to, and that one
document is written with its etag. So a redelivered `chat.analyzed` finds its turn already answered and
republishes the same outcome (downstream consumers are idempotent too), and two concurrent deliveries of
the same turn cannot both append an answer: the second one's write fails on the etag, it re-reads, and
finds the first one's outcome.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, Field

from helpdesk.events import AnswerMode, ChatAnswered, ChatEscalated, Choice, Language, utcnow


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
    choices: list[Choice]
    question: str
    asked_in: UUID


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
