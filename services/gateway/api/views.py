"""What the public API shows of turns, conversations and handoffs, and the problem answers it documents."""

from __future__ import annotations

from helpdesk.errors import PROBLEM_JSON
from services.gateway.api.schemas import ChatResponse, ConversationTurn, HandoffState, HandoffSummary
from services.gateway.handoff_records import Author, Handoff
from services.gateway.turns import Reply, TurnRecord, TurnStatus

PROBLEM_RESPONSES: dict[int | str, dict[str, object]] = {
    code: {"description": title, "content": {PROBLEM_JSON: {}}}
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
    """The turn with the reply the caller got (which may be newer than the record it was read with)."""
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


def handoff_summary(handoff: Handoff) -> HandoffSummary:
    """The handoff as operators list it; `waiting_messages` counts what the user wrote since the agent's
    last message."""
    last_agent = max((i for i, m in enumerate(handoff.messages) if m.author is Author.AGENT), default=-1)
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
        waiting_messages=sum(1 for m in handoff.messages[last_agent + 1 :] if m.author is Author.USER),
    )
