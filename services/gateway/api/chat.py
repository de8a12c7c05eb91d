"""POST /v1/chat, GET /v1/messages/{id}, GET /v1/conversations/{id}.

No `from __future__ import annotations` here: FastAPI must resolve the dependency aliases defined
inside `chat_router` at runtime.
"""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import ValidationError

from helpdesk.auth import Principal, authenticate
from helpdesk.errors import Problem, describe_validation_errors
from helpdesk.events import Channel, ChannelRef
from services.gateway.api.body import read_json
from services.gateway.api.models import ChatRequest, ChatResponse, ConversationTurn, ConversationView
from services.gateway.desk import FrontDesk
from services.gateway.turns import Reply, TurnRecord, TurnStatus

PROBLEM_RESPONSES: dict[int | str, dict[str, object]] = {
    code: {"description": title, "content": {"application/problem+json": {}}}
    for code, title in {
        400: "Malformed body",
        401: "Missing or invalid credential",
        404: "Not found (or not yours)",
        413: "Body too large",
        415: "Not JSON",
        422: "Schema violation",
        429: "Rate limited",
        503: "Temporarily unavailable",
    }.items()
}


def _view(turn: TurnRecord, reply: Reply | None) -> ChatResponse:
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
        choices=list(reply.choices) if reply else [],
        escalated=reply.escalated if reply else False,
        links={
            "self": f"/v1/messages/{turn.turn_id}",
            "conversation": f"/v1/conversations/{turn.conversation_id}",
        },
    )


def chat_router(desk: FrontDesk) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["chat"], responses=PROBLEM_RESPONSES)

    async def principal(authorization: Annotated[str | None, Header()] = None) -> Principal:
        return authenticate(authorization, desk.api_keys, desk.settings.allow_anonymous)

    Caller = Annotated[Principal, Depends(principal)]  # noqa: N806 - a type alias

    @router.post(
        "/chat",
        response_model=ChatResponse,
        summary="Ask the helpdesk",
        description=(
            "Waits for the answer up to the configured time and answers 200; otherwise, or with "
            "`Prefer: respond-async`, answers 202 with `Location: /v1/messages/{turn_id}` to poll."
        ),
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ChatRequest.model_json_schema()}},
            }
        },
    )
    async def post_chat(
        request: Request, response: Response, caller: Caller, prefer: Annotated[str | None, Header()] = None
    ) -> ChatResponse:
        body = await read_json(request, desk.settings.max_body_bytes)
        try:
            chat = ChatRequest.model_validate(body)
        except ValidationError as exc:
            raise Problem(
                422,
                "The request does not match the schema.",
                kind="validation",
                extra={"errors": describe_validation_errors(list(exc.errors()))},
            ) from None
        respond_async = prefer is not None and "respond-async" in prefer.lower()
        channel = ChannelRef(channel=Channel.API, user_id=caller.user_id, locale=chat.locale)
        accepted = await desk.accept(
            caller, channel, chat.message, chat.conversation_id, chat.locale, wait=not respond_async
        )
        view = _view(accepted.turn, accepted.reply)
        if accepted.reply is None:
            response.status_code = 202
            response.headers["Location"] = view.links["self"]
            response.headers["Retry-After"] = "1"
        return view

    @router.get("/messages/{turn_id}", response_model=ChatResponse, summary="The status and answer of a turn")
    async def get_message(turn_id: UUID, caller: Caller) -> ChatResponse:
        return _view(await desk.turn_of(caller, turn_id), None)

    @router.get("/conversations/{conversation_id}", response_model=ConversationView, summary="A conversation")
    async def get_conversation(conversation_id: UUID, caller: Caller) -> ConversationView:
        conversation, turns = await desk.conversation_of(caller, conversation_id)
        return ConversationView(
            conversation_id=conversation.conversation_id,
            turns=[
                ConversationTurn(
                    turn_id=t.turn_id,
                    status=t.status.value,
                    question=t.question,
                    answer=t.reply.text if t.reply else None,
                    mode=t.reply.mode if t.reply else None,
                    citations=list(t.reply.citations) if t.reply else [],
                )
                for t in turns
            ],
        )

    return router
