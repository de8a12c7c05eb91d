"""POST /v1/chat, GET /v1/messages/{id}, GET /v1/conversations/{id}, POST /v1/feedback.

No `from __future__ import annotations` here: FastAPI resolves the dependency aliases at runtime.
"""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Request, Response

from helpdesk.auth import WEB_USER_PREFIX
from helpdesk.events import Channel, ChannelRef
from services.gateway.api.deps import (
    Caller,
    FeedbackDeskDep,
    TurnIntakeDep,
    TurnReaderDep,
    body_as,
    client_address,
)
from services.gateway.api.schemas import (
    AgentMessage,
    ChatRequest,
    ChatResponse,
    ConversationView,
    FeedbackRequest,
    FeedbackResponse,
)
from services.gateway.api.views import PROBLEM_RESPONSES, chat_view, conversation_turn, handoff_state
from services.gateway.desk.intake import Incoming
from services.gateway.gateway_errors import refusal_error
from services.gateway.handoff_records import Author
from services.gateway.idempotency import fingerprint, validate_key

router = APIRouter(prefix="/v1", tags=["chat"], responses=PROBLEM_RESPONSES)


@router.post(
    "/chat",
    response_model=ChatResponse,
    summary="Ask the helpdesk",
    description=(
        "Waits for the answer up to the configured time and answers 200; otherwise, or with "
        "`Prefer: respond-async`, answers 202 with `Location: /v1/messages/{turn_id}` to poll. "
        "With `Idempotency-Key`, a retry with the same body (compared as parsed JSON) returns the "
        "first request's turn. A question that would open one handoff to a person too many for the "
        "caller is answered 409 (`handoff-limit`). Without a credential, where anonymous access is "
        "on, the caller is the anonymous client of the `helpdesk_anonymous` cookie, or a new one."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ChatRequest.model_json_schema()}},
        }
    },
)
async def post_chat(
    request: Request,
    response: Response,
    principal: Caller,
    intake: TurnIntakeDep,
    prefer: Annotated[str | None, Header()] = None,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> ChatResponse:
    key = validate_key(idempotency_key) if idempotency_key is not None else None
    chat = await body_as(ChatRequest, request)
    respond_async = prefer is not None and "respond-async" in prefer.lower()
    channel = Channel.WEB if principal.user_id.startswith(WEB_USER_PREFIX) else Channel.API
    accepted = await intake.accept(
        Incoming(
            principal=principal,
            channel=ChannelRef(channel=channel, user_id=principal.user_id, locale=chat.locale),
            text=chat.message,
            conversation_id=chat.conversation_id,
            locale=chat.locale,
            client_address=client_address(request),
            idempotency_key=key,
            fingerprint=fingerprint(chat) if key else None,
        ),
        wait=not respond_async,
    )
    if accepted.reply is not None and accepted.reply.refusal is not None:
        raise refusal_error(accepted.reply.refusal, accepted.reply.text)
    view = chat_view(accepted.turn, accepted.reply)
    if accepted.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    if accepted.reply is None:
        response.status_code = 202
        response.headers["Location"] = view.links["self"]
        response.headers["Retry-After"] = "1"
    return view


@router.get("/messages/{turn_id}", response_model=ChatResponse, summary="The status and answer of a turn")
async def get_message(turn_id: UUID, principal: Caller, reader: TurnReaderDep) -> ChatResponse:
    return chat_view(await reader.turn_of(principal, turn_id), None)


@router.get(
    "/conversations/{conversation_id}",
    response_model=ConversationView,
    summary="A conversation: its turns, and what a human agent wrote",
)
async def get_conversation(
    conversation_id: UUID, principal: Caller, reader: TurnReaderDep
) -> ConversationView:
    conversation = await reader.conversation_of(principal, conversation_id)
    handoff = conversation.handoff
    return ConversationView(
        conversation_id=conversation.record.conversation_id,
        turns=[conversation_turn(t) for t in conversation.turns],
        agent_messages=[
            AgentMessage(id=m.id, text=m.text, at=m.at)
            for m in (handoff.messages if handoff else [])
            if m.author is Author.AGENT
        ],
        handoff=handoff_state(handoff),
    )


@router.post(
    "/feedback",
    response_model=FeedbackResponse,
    summary="Thumbs up or down on an answer",
    description=(
        "One rating per answer: the same rating again is answered as the first was; a different one "
        "is 409 (`already-rated`). Limited per user."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": FeedbackRequest.model_json_schema()}},
        }
    },
)
async def post_feedback(request: Request, principal: Caller, desk: FeedbackDeskDep) -> FeedbackResponse:
    feedback = await body_as(FeedbackRequest, request)
    await desk.rate(
        principal, feedback.turn_id, feedback.rating, feedback.comment, client_address=client_address(request)
    )
    return FeedbackResponse(turn_id=feedback.turn_id, rating=feedback.rating)
