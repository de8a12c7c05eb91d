"""Showing a turn or a conversation to the person it belongs to (or to an operator)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from helpdesk.auth import Principal
from helpdesk.dapr.ports import SidecarUnavailable
from services.gateway.desk.books import Books
from services.gateway.gateway_errors import ConversationNotFound, HelpdeskUnavailable, MessageNotFound
from services.gateway.handoff_records import Handoff
from services.gateway.turns import ConversationRecord, TurnRecord


@dataclass(frozen=True, slots=True)
class ConversationSoFar:
    record: ConversationRecord
    turns: list[TurnRecord]
    """The turns still kept, in order."""
    handoff: Handoff | None


class TurnReader:
    """Reads turns and conversations for their owner; someone else's are not found, exactly as if they
    did not exist."""

    def __init__(self, books: Books, retry_after_seconds: int) -> None:
        self._books = books
        self._retry_after = retry_after_seconds

    async def turn_of(self, principal: Principal, turn_id: UUID) -> TurnRecord:
        try:
            turn = await self._books.turns.get(turn_id)
        except SidecarUnavailable:
            raise HelpdeskUnavailable("look up messages", self._retry_after) from None
        if turn is None or turn.user_id != principal.user_id:
            raise MessageNotFound()
        return turn

    async def conversation_of(
        self, principal: Principal, conversation_id: UUID, *, as_operator: bool = False
    ) -> ConversationSoFar:
        try:
            conversation = await self._books.conversations.get(conversation_id)
            if conversation is None or (conversation.user_id != principal.user_id and not as_operator):
                raise ConversationNotFound()
            turns = await self._books.turns_in(conversation)
            handoff = await self._books.handoffs.get(conversation_id)
        except SidecarUnavailable:
            raise HelpdeskUnavailable("look up conversations", self._retry_after) from None
        return ConversationSoFar(conversation, turns, handoff)
