"""The public HTTP API's request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr

from helpdesk.events import MAX_MESSAGE_CHARS, AnswerMode, Choice, Citation, Language, Rating
from helpdesk.text.normalise import without_invisible


def _not_blank(value: str) -> str:
    """Zero-width spaces, joiners and soft hyphens are invisible: a message of only those is as empty
    as one of only spaces."""
    if not without_invisible(value).strip():
        raise ValueError("must not be empty, whitespace or invisible characters only")
    return value


Message = Annotated[StrictStr, Field(min_length=1, max_length=MAX_MESSAGE_CHARS), AfterValidator(_not_blank)]


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    message: Message
    conversation_id: Annotated[UUID, Field(strict=False)] | None = None
    locale: (
        Annotated[StrictStr, Field(max_length=35, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")] | None
    ) = None


class ChatResponse(BaseModel):
    turn_id: UUID
    conversation_id: UUID
    status: str
    answer: str | None = None
    mode: AnswerMode | None = None
    language: Language | None = None
    citations: list[str] = Field(default_factory=list)
    sources: list[Citation] = Field(default_factory=list)
    choices: list[Choice] = Field(default_factory=list)
    escalated: bool = False
    links: dict[str, str] = Field(default_factory=dict)


class ConversationTurn(BaseModel):
    turn_id: UUID
    status: str
    question: str
    answer: str | None = None
    mode: AnswerMode | None = None
    citations: list[str] = Field(default_factory=list)
    sources: list[Citation] = Field(default_factory=list)
    choices: list[Choice] = Field(default_factory=list)
    feedback: Rating | None = None


class AgentMessage(BaseModel):
    id: UUID
    text: str
    at: datetime


class HandoffState(BaseModel):
    status: str
    opened_at: datetime
    closed_at: datetime | None = None


class ConversationView(BaseModel):
    conversation_id: UUID
    turns: list[ConversationTurn]
    agent_messages: list[AgentMessage] = Field(default_factory=list)
    handoff: HandoffState | None = None


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    turn_id: Annotated[UUID, Field(strict=False)]
    rating: Annotated[Rating, Field(strict=False)]
    comment: Annotated[StrictStr, Field(max_length=1000)] | None = None


class FeedbackResponse(BaseModel):
    turn_id: UUID
    rating: Rating


class AgentReplyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    message: Message


class HandoffSummary(BaseModel):
    conversation_id: UUID
    user_id: str
    channel: str
    status: str
    reason: str
    question: str
    summary: str
    language: str
    opened_at: datetime
    waiting_messages: int


class HandoffDetail(HandoffSummary):
    messages: list[dict[str, object]]
    turns: list[ConversationTurn]
