"""POST /v1/chat, GET /v1/messages/{id}, GET /v1/conversations/{id}, POST /v1/feedback.

No `from __future__ import annotations` here: FastAPI resolves the dependency aliases defined inside
`chat_router` at runtime.
"""

from datetime import UTC, datetime, time, timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Request, Response

from helpdesk.auth import Principal
from helpdesk.errors import Problem
from helpdesk.events import Channel, ChannelRef
from services.gateway.api.deps import body_as, caller, client_address
from services.gateway.api.models import (
    AgentMessage,
    ChatRequest,
    ChatResponse,
    ConversationTurn,
    ConversationView,
    FeedbackRequest,
    FeedbackResponse,
    HandoffState,
)
from services.gateway.desk import HANDOFF_LIMIT, FrontDesk, Incoming
from services.gateway.handoffs import Handoff
from services.gateway.idempotency import fingerprint, validate_key
from services.gateway.turns import Reply, TurnRecord, TurnStatus

PROBLEM_RESPONSES: dict[int | str, dict[str, object]] = {
    code: {"description": title, "content": {"application/problem+json": {}}}
    for code, title in {
        400: "Malformed body",
        401: "Missing or invalid credential",
        404: "Not found (or not yours)",
        409: "Conflicts with an earlier request or with what the caller already has open",
        413: "Body too large",
        415: "Not JSON",
        422: "Schema violation",
        429: "Rate limited",
        503: "Temporarily unavailable",
    }.items()
}


def chat_view(turn: TurnRecord, reply: Reply | None) -> ChatResponse:
    reply = reply or turn.reply
    status = turn.status.value
    if reply is not None and turn.status is TurnStatus.PENDING:
        status = TurnStatus.ESCALATED.value if reply.escalated else TurnStatus.ANSWERED.value
    return ChatResponse(
        turn_id=turn.turn_id,
        conversation_id=turn.conversation_id,
        status=status,
        answer=reply.text if reply else None,
        mode=reply.mode if reply else None,
        language=reply.language if reply else None,
        citations=list(reply.citations) if reply else [],
        sources=list(reply.sources) if reply else [],
        choices=list(reply.choices) if reply else [],
        escalated=reply.escalated if reply else False,
        links={
            "self": f"/v1/messages/{turn.turn_id}",
            "conversation": f"/v1/conversations/{turn.conversation_id}",
        },
    )


def token_budget_spent(reply: Reply) -> Problem:
    """The turn was refused because the user's token budget is spent (flag budget_exhausted=reject)."""
    now = datetime.now(UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), time.min, tzinfo=UTC)
    return Problem(
        429,
        reply.text,
        kind="token-budget",
        title="Token budget exhausted",
        headers={"Retry-After": str(int((midnight - now).total_seconds()) + 1)},
    )


def handoff_limit_reached(reply: Reply) -> Problem:
    """The turn asked for a person while all of its user's places among open handoffs were taken."""
    return Problem(409, reply.text, kind=HANDOFF_LIMIT, title="Too many open handoffs")


def conversation_turn(turn: TurnRecord) -> ConversationTurn:
    reply = turn.reply
    return ConversationTurn(
        turn_id=turn.turn_id,
        status=turn.status.value,
        question=turn.question,
        answer=reply.text if reply else None,
        mode=reply.mode if reply else None,
        citations=list(reply.citations) if reply else [],
        sources=list(reply.sources) if reply else [],
        choices=list(reply.choices) if reply else [],
        feedback=turn.feedback,
    )


def handoff_state(handoff: Handoff | None) -> HandoffState | None:
    if handoff is None:
        return None
    return HandoffState(status=handoff.status.value, opened_at=handoff.opened_at, closed_at=handoff.closed_at)


def chat_router(desk: FrontDesk, channel: Channel = Channel.API) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["chat"], responses=PROBLEM_RESPONSES)

    async def who(request: Request, response: Response) -> Principal:
        return caller(desk, request, response)

    Caller = Annotated[Principal, Depends(who)]  # noqa: N806 - a type alias

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
        prefer: Annotated[str | None, Header()] = None,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> ChatResponse:
        key = validate_key(idempotency_key) if idempotency_key is not None else None
        chat = await body_as(ChatRequest, desk, request)
        respond_async = prefer is not None and "respond-async" in prefer.lower()
        web = channel is Channel.WEB or principal.user_id.startswith("web:")
        ref = ChannelRef(
            channel=Channel.WEB if web else Channel.API, user_id=principal.user_id, locale=chat.locale
        )
        accepted = await desk.accept(
            Incoming(
                principal=principal,
                channel=ref,
                text=chat.message,
                conversation_id=chat.conversation_id,
                locale=chat.locale,
                client_address=client_address(request),
                idempotency_key=key,
                fingerprint=fingerprint(chat) if key else None,
            ),
            wait=not respond_async,
        )
        if accepted.reply is not None and accepted.reply.refusal == "budget":
            raise token_budget_spent(accepted.reply)
        if accepted.reply is not None and accepted.reply.refusal == HANDOFF_LIMIT:
            raise handoff_limit_reached(accepted.reply)
        view = chat_view(accepted.turn, accepted.reply)
        if accepted.replayed:
            response.headers["Idempotent-Replayed"] = "true"
        if accepted.reply is None:
            response.status_code = 202
            response.headers["Location"] = view.links["self"]
            response.headers["Retry-After"] = "1"
        return view

    @router.get("/messages/{turn_id}", response_model=ChatResponse, summary="The status and answer of a turn")
    async def get_message(turn_id: UUID, principal: Caller) -> ChatResponse:
        return chat_view(await desk.turn_of(principal, turn_id), None)

    @router.get(
        "/conversations/{conversation_id}",
        response_model=ConversationView,
        summary="A conversation: its turns, and what a human agent wrote",
    )
    async def get_conversation(conversation_id: UUID, principal: Caller) -> ConversationView:
        conversation, turns, handoff = await desk.conversation_of(principal, conversation_id)
        return ConversationView(
            conversation_id=conversation.conversation_id,
            turns=[conversation_turn(t) for t in turns],
            agent_messages=[
                AgentMessage(id=m.id, text=m.text, at=m.at)
                for m in (handoff.messages if handoff else [])
                if m.author == "agent"
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
    async def post_feedback(request: Request, principal: Caller) -> FeedbackResponse:
        feedback = await body_as(FeedbackRequest, desk, request)
        await desk.feedback(
            principal,
            feedback.turn_id,
            feedback.rating,
            feedback.comment,
            client_address=client_address(request),
        )
        return FeedbackResponse(turn_id=feedback.turn_id, rating=feedback.rating)

    return router
