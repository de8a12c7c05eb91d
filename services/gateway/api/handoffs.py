"""Operator endpoints for human handoff: list, read, reply, close (operator role required).

No `from __future__ import annotations` here: FastAPI resolves the dependency aliases at runtime.
"""

from uuid import UUID

from fastapi import APIRouter, Request

from helpdesk.auth import Principal
from services.gateway.api.deps import HandoffDeskDep, Operator, TurnReaderDep, body_as
from services.gateway.api.schemas import AgentReplyRequest, HandoffDetail, HandoffSummary
from services.gateway.api.views import PROBLEM_RESPONSES, conversation_turn, handoff_summary
from services.gateway.desk.handoff_desk import HandoffDesk
from services.gateway.desk.turn_reader import TurnReader

router = APIRouter(prefix="/v1/handoffs", tags=["handoffs (operators)"], responses=PROBLEM_RESPONSES)


async def handoff_detail(
    conversation_id: UUID, principal: Principal, handoffs: HandoffDesk, reader: TurnReader
) -> HandoffDetail:
    handoff = await handoffs.handoff_of(conversation_id)
    conversation = await reader.conversation_of(principal, conversation_id, as_operator=True)
    return HandoffDetail(
        **handoff_summary(handoff).model_dump(),
        messages=[m.model_dump(mode="json") for m in handoff.messages],
        turns=[conversation_turn(t) for t in conversation.turns],
    )


@router.get("", response_model=list[HandoffSummary], summary="Open handoffs, oldest first")
async def list_handoffs(_: Operator, handoffs: HandoffDeskDep) -> list[HandoffSummary]:
    return [handoff_summary(h) for h in await handoffs.open_ones()]


@router.get("/{conversation_id}", response_model=HandoffDetail, summary="A handoff and its conversation")
async def get_handoff(
    conversation_id: UUID, principal: Operator, handoffs: HandoffDeskDep, reader: TurnReaderDep
) -> HandoffDetail:
    return await handoff_detail(conversation_id, principal, handoffs, reader)


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
async def reply(
    conversation_id: UUID,
    request: Request,
    principal: Operator,
    handoffs: HandoffDeskDep,
    reader: TurnReaderDep,
) -> HandoffDetail:
    body = await body_as(AgentReplyRequest, request)
    await handoffs.reply_as_agent(principal, conversation_id, body.message)
    return await handoff_detail(conversation_id, principal, handoffs, reader)


@router.post("/{conversation_id}/close", response_model=HandoffSummary, summary="Hand the conversation back")
async def close(conversation_id: UUID, principal: Operator, handoffs: HandoffDeskDep) -> HandoffSummary:
    return handoff_summary(await handoffs.close(principal, conversation_id))
