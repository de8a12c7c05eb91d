"""Operator endpoints for human handoff: list, read, reply, close (operator role required).

No `from __future__ import annotations` here: FastAPI resolves the dependency aliases at runtime.
"""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request

from helpdesk.auth import Principal
from services.gateway.api.chat import PROBLEM_RESPONSES, conversation_turn
from services.gateway.api.deps import body_as, operator
from services.gateway.api.models import AgentReplyRequest, HandoffDetail, HandoffSummary
from services.gateway.desk import FrontDesk
from services.gateway.handoffs import Handoff


def summary(handoff: Handoff) -> HandoffSummary:
    last_agent = max((i for i, m in enumerate(handoff.messages) if m.author == "agent"), default=-1)
    return HandoffSummary(
        conversation_id=handoff.conversation_id,
        user_id=handoff.user_id,
        channel=handoff.channel.channel.value,
        status=handoff.status.value,
        reason=handoff.reason.value,
        question=handoff.question,
        summary=handoff.summary,
        language=handoff.language.value,
        opened_at=handoff.opened_at,
        waiting_messages=sum(1 for m in handoff.messages[last_agent + 1 :] if m.author == "user"),
    )


def handoff_router(desk: FrontDesk) -> APIRouter:
    router = APIRouter(prefix="/v1/handoffs", tags=["handoffs (operators)"], responses=PROBLEM_RESPONSES)

    async def op(request: Request) -> Principal:
        return operator(desk, request)

    Operator = Annotated[Principal, Depends(op)]  # noqa: N806 - a type alias

    async def detail(conversation_id: UUID, principal: Principal) -> HandoffDetail:
        handoff = await desk.handoff_of(conversation_id)
        _, turns, _ = await desk.conversation_of(principal, conversation_id, as_operator=True)
        return HandoffDetail(
            **summary(handoff).model_dump(),
            messages=[m.model_dump(mode="json") for m in handoff.messages],
            turns=[conversation_turn(t) for t in turns],
        )

    @router.get("", response_model=list[HandoffSummary], summary="Open handoffs, oldest first")
    async def list_handoffs(_: Operator) -> list[HandoffSummary]:
        return [summary(h) for h in await desk.list_open_handoffs()]

    @router.get("/{conversation_id}", response_model=HandoffDetail, summary="A handoff and its conversation")
    async def get_handoff(conversation_id: UUID, principal: Operator) -> HandoffDetail:
        return await detail(conversation_id, principal)

    @router.post(
        "/{conversation_id}/reply",
        response_model=HandoffDetail,
        summary="Reply to the user as an agent",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": AgentReplyRequest.model_json_schema()}},
            }
        },
    )
    async def reply(conversation_id: UUID, request: Request, principal: Operator) -> HandoffDetail:
        body = await body_as(AgentReplyRequest, desk, request)
        await desk.reply_as_agent(principal, conversation_id, body.message)
        return await detail(conversation_id, principal)

    @router.post(
        "/{conversation_id}/close", response_model=HandoffSummary, summary="Hand the conversation back"
    )
    async def close(conversation_id: UUID, principal: Operator) -> HandoffSummary:
        return summary(await desk.close_handoff(principal, conversation_id))

    return router
