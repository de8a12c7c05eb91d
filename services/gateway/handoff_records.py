"""A handoff as the gateway keeps it: its transcript (every message redacted, whoever wrote it), whether
it is open, and the index of open handoffs operators list from. How handoffs open, are answered and
close is `desk/handoff_desk.py`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, Field

from helpdesk.events import ChannelRef, ChatEscalated, EscalationReason, HandoffReplied, Language, utcnow
from helpdesk.text.pii import redact_text
from services.gateway.turns import at_rest


class HandoffStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Author(StrEnum):
    """Who wrote a message in a handoff's transcript."""

    USER = "user"
    AGENT = "agent"


class HandoffMessage(BaseModel):
    id: UUID
    author: Author
    text: str
    """Redacted, whoever wrote it."""
    at: datetime = Field(default_factory=utcnow)
    operator_id: str | None = None


class Handoff(BaseModel):
    conversation_id: UUID
    user_id: str
    channel: ChannelRef
    status: HandoffStatus = HandoffStatus.OPEN
    reason: EscalationReason
    question: str
    """The redacted question that was escalated."""
    summary: str
    language: Language
    escalated_turn_id: UUID
    opened_at: datetime = Field(default_factory=utcnow)
    closed_at: datetime | None = None
    closed_by: str | None = None
    messages: list[HandoffMessage] = Field(default_factory=list)

    MAX_MESSAGES: ClassVar[int] = 500

    @property
    def is_open(self) -> bool:
        return self.status is HandoffStatus.OPEN

    def has_message(self, message_id: UUID) -> bool:
        return any(m.id == message_id for m in self.messages)

    def with_message(self, message: HandoffMessage) -> Handoff | None:
        if self.has_message(message.id):
            return None
        return self.model_copy(update={"messages": [*self.messages, message][-self.MAX_MESSAGES :]})

    def closed(self, operator_id: str) -> Handoff | None:
        if not self.is_open:
            return None
        return self.model_copy(
            update={"status": HandoffStatus.CLOSED, "closed_at": utcnow(), "closed_by": operator_id}
        )


def opened_from(event: ChatEscalated, current: Handoff | None) -> Handoff | None:
    """The handoff after an escalation: a new one, a re-opened one, or None when it is already open
    (a redelivered escalation, or a second one while an agent is on it)."""
    if current is not None and current.is_open:
        return None
    return Handoff(
        conversation_id=event.conversation_id,
        user_id=event.channel.user_id,
        channel=event.channel,
        reason=event.reason,
        question=at_rest(event.question),
        summary=redact_text(event.summary),
        language=event.language,
        escalated_turn_id=event.turn_id,
        messages=list(current.messages) if current else [],
    )


def agent_message(event: HandoffReplied) -> HandoffMessage:
    """The agent's reply as the transcript keeps it: redacted again, whichever gateway published it."""
    return HandoffMessage(
        id=event.turn_id, author=Author.AGENT, text=redact_text(event.answer), operator_id=event.operator_id
    )


class OpenHandoffs(BaseModel):
    """The index operators list from: conversation ids with an open handoff, oldest first."""

    conversation_ids: list[UUID] = Field(default_factory=list)

    def with_open(self, conversation_id: UUID) -> OpenHandoffs | None:
        if conversation_id in self.conversation_ids:
            return None
        return OpenHandoffs(conversation_ids=[*self.conversation_ids, conversation_id])

    def has_room_for(self, conversation_id: UUID, limit: int) -> bool:
        """The cap on open handoffs: whether the conversation is listed already, or fits under `limit`
        (0: no limit). One user's list is kept this way, so that one caller cannot fill the agents'
        queue."""
        return limit == 0 or conversation_id in self.conversation_ids or len(self.conversation_ids) < limit

    def newest(self, count: int) -> OpenHandoffs:
        """The index with at most `count` conversations, the oldest left out."""
        return OpenHandoffs(conversation_ids=self.conversation_ids[-count:])

    def without(self, conversation_id: UUID) -> OpenHandoffs | None:
        if conversation_id not in self.conversation_ids:
            return None
        return OpenHandoffs(conversation_ids=[c for c in self.conversation_ids if c != conversation_id])
