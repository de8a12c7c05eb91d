"""Turns and conversations as the gateway keeps them: who asked, and what was delivered.

What a person wrote is kept only redacted (`at_rest`), like everything the gateway stores or publishes.

A turn record is created before `chat.requested` is published and completed exactly once by the
competing `chat.answered` / `chat.escalated` subscription; the etag on the record makes a redelivered or
duplicated answer a no-op.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from helpdesk.events import (
    MAX_MESSAGE_CHARS,
    AnswerMode,
    Channel,
    ChatAnswered,
    ChatEscalated,
    Choice,
    Citation,
    Language,
    Rating,
    utcnow,
)
from helpdesk.text.pii import cut_redacted, redact_text


def at_rest(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """The only form of what a person wrote (a user's message, an agent's reply, a feedback comment) that
    the gateway stores or publishes: personal data replaced by typed placeholders. The raw words stay in
    the request that carried them. Cut to `limit`, since a placeholder can be longer than what it
    replaces ("a@b.co" becomes "[EMAIL]") and the events keep their length limits; a placeholder across
    the cut is left out whole, never kept as "[EMA"."""
    return cut_redacted(redact_text(text), limit)


class TurnStatus(StrEnum):
    PENDING = "pending"
    ANSWERED = "answered"
    ESCALATED = "escalated"
    HANDED_OFF = "handed_off"
    """Sent while an agent has the conversation: kept for the agent, not answered by the bot."""
    FAILED = "failed"


class ReplyRefusal(StrEnum):
    """Why a turn was answered with a refusal instead of an answer: dialogue's refusals (the events'
    `Refusal`, by value) and the gateway's own. Each has its own HTTP answer."""

    BUDGET = "budget"
    """The user's token budget is spent and the budget_exhausted flag says reject (set by dialogue)."""
    HANDOFF_LIMIT = "handoff-limit"
    """The turn's escalation would have opened one handoff too many for its user (set here)."""


class Reply(BaseModel):
    """What the user gets back for a turn, on every channel."""

    model_config = ConfigDict(frozen=True)

    text: str
    mode: AnswerMode
    language: Language
    citations: list[str] = Field(default_factory=list)
    sources: list[Citation] = Field(default_factory=list)
    choices: list[Choice] = Field(default_factory=list)
    escalated: bool = False
    refusal: ReplyRefusal | None = None


def reply_from(event: ChatAnswered | ChatEscalated) -> Reply:
    if isinstance(event, ChatEscalated):
        return Reply(text=event.message, mode=AnswerMode.HANDOFF, language=event.language, escalated=True)
    return Reply(
        text=event.answer,
        mode=event.mode,
        language=event.language,
        citations=list(event.cited_faq_ids),
        sources=list(event.citations),
        choices=list(event.choices),
        refusal=ReplyRefusal(event.refusal) if event.refusal else None,
    )


class TurnRecord(BaseModel):
    turn_id: UUID
    conversation_id: UUID
    user_id: str
    channel: Channel
    question: str
    """Redacted (`at_rest`)."""
    status: TurnStatus = TurnStatus.PENDING
    created_at: datetime = Field(default_factory=utcnow)
    completed_at: datetime | None = None
    reply: Reply | None = None
    delivered: bool = False
    """For channels that push (Teams): the reply went out. Recorded so it goes out once."""
    feedback: Rating | None = None

    def complete(self, reply: Reply) -> TurnRecord | None:
        """The record with its reply, or None when it already has one (a redelivery)."""
        if self.status is not TurnStatus.PENDING and self.status is not TurnStatus.FAILED:
            return None
        status = TurnStatus.ESCALATED if reply.escalated else TurnStatus.ANSWERED
        return self.model_copy(update={"status": status, "reply": reply, "completed_at": utcnow()})


class ConversationRecord(BaseModel):
    conversation_id: UUID
    user_id: str
    channel: Channel
    created_at: datetime = Field(default_factory=utcnow)
    turn_ids: list[UUID] = Field(default_factory=list)
    handoff_open: bool = False
    """Mirrors the conversation's handoff, so accepting a message needs no second read to know."""

    MAX_TURNS: ClassVar[int] = 200

    def with_turn(self, turn_id: UUID) -> ConversationRecord | None:
        if turn_id in self.turn_ids:
            return None
        return self.model_copy(update={"turn_ids": [*self.turn_ids, turn_id][-self.MAX_TURNS :]})
