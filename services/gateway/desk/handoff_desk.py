"""Handoffs to a person, on every channel.

When dialogue escalates a turn, the handoff opens (if the conversation holds one of its user's places)
and from then on the bot stays silent in that conversation: `TurnIntake` puts the user's messages in
the handoff's transcript instead of publishing them. Operators list open handoffs, read them, reply
(published as `handoff.replied` and put into the conversation, and pushed on channels that push, by
whichever replica consumes it) and close them, after which the bot answers again.
"""

from __future__ import annotations

from uuid import UUID, uuid4

from helpdesk.auth import Principal
from helpdesk.dapr.ports import EventPublisher, SidecarUnavailable
from helpdesk.events import ChatEscalated, HandoffReplied
from helpdesk.logging import get_logger
from services.gateway.delivery import Deliveries
from services.gateway.desk.books import Books
from services.gateway.desk.handoff_places import HandoffPlaces
from services.gateway.gateway_errors import HandoffClosed, HandoffNotFound, HelpdeskUnavailable
from services.gateway.handoff_records import Handoff, agent_message, opened_from
from services.gateway.turns import at_rest

_log = get_logger(__name__)


class HandoffDesk:
    """Opens, lists, answers and closes handoffs."""

    def __init__(
        self,
        books: Books,
        bus: EventPublisher,
        places: HandoffPlaces,
        deliveries: Deliveries,
        retry_after_seconds: int,
    ) -> None:
        self._books = books
        self._bus = bus
        self._places = places
        self._deliveries = deliveries
        self._retry_after = retry_after_seconds

    def _unavailable(self, what: str) -> HelpdeskUnavailable:
        return HelpdeskUnavailable(what, self._retry_after)

    async def open(self, event: ChatEscalated) -> None:
        """Competing path for `chat.escalated`, after the answer is stored: open (or re-open) the
        conversation's handoff, unless handoffs are off for the user or the escalation found no place."""
        user_id = event.channel.user_id
        if not self._places.enabled(user_id):
            return
        if not await self._places.holds(user_id, event.conversation_id):
            return
        opened = await self._books.handoffs.update(event.conversation_id, lambda h: opened_from(event, h))
        if opened is not None and opened.is_open:
            await self._books.conversations.update(
                event.conversation_id, lambda c: c.model_copy(update={"handoff_open": True}) if c else None
            )
            await self._books.list_open(event.conversation_id)
            _log.info("handoff_opened", conversation_id=str(event.conversation_id), reason=event.reason.value)

    async def open_ones(self) -> list[Handoff]:
        """Open handoffs, oldest first."""
        try:
            handoffs = await self._books.open_handoff_list()
        except SidecarUnavailable:
            raise self._unavailable("list handoffs") from None
        return sorted((h for h in handoffs if h.is_open), key=lambda h: h.opened_at)

    async def handoff_of(self, conversation_id: UUID) -> Handoff:
        try:
            handoff = await self._books.handoffs.get(conversation_id)
        except SidecarUnavailable:
            raise self._unavailable("look up handoffs") from None
        if handoff is None:
            raise HandoffNotFound()
        return handoff

    async def reply_as_agent(self, operator: Principal, conversation_id: UUID, text: str) -> HandoffReplied:
        handoff = await self.handoff_of(conversation_id)
        if not handoff.is_open:
            raise HandoffClosed()
        event = HandoffReplied(
            turn_id=uuid4(),
            conversation_id=conversation_id,
            channel=handoff.channel,
            operator_id=operator.user_id,
            answer=at_rest(text),
            question=handoff.question,
            language=handoff.language,
        )
        try:
            await self._bus.publish(event)
        except SidecarUnavailable:
            raise self._unavailable("send the reply") from None
        _log.info("handoff_reply_published", conversation_id=str(conversation_id))
        return event

    async def deliver_agent_reply(self, event: HandoffReplied) -> bool:
        """Competing path for `handoff.replied`: put the agent's message into the conversation once.
        True when this call added it (the channel delivery then happens once)."""
        added = False

        def add(current: Handoff | None) -> Handoff | None:
            nonlocal added
            if current is None:
                return None
            updated = current.with_message(agent_message(event))
            added = updated is not None
            return updated

        await self._books.handoffs.update(event.conversation_id, add)
        sender = self._deliveries.sender_for(event.channel.channel)
        if sender is not None:

            async def send() -> None:
                await sender.send_agent_message(event.channel, event.turn_id, event.answer)

            await self._deliveries.once(event.turn_id, send)
        return added

    async def close(self, operator: Principal, conversation_id: UUID) -> Handoff:
        """Hand the conversation back to the bot and free its user's place."""
        try:
            closed = await self._books.handoffs.update(
                conversation_id, lambda h: h.closed(operator.user_id) if h else None
            )
            if closed is None:
                raise HandoffNotFound()
            await self._books.unlist_open(conversation_id)
            await self._places.release(closed.user_id, conversation_id)
            await self._books.conversations.update(
                conversation_id, lambda c: c.model_copy(update={"handoff_open": False}) if c else None
            )
        except SidecarUnavailable:
            raise self._unavailable("close the handoff") from None
        _log.info("handoff_closed", conversation_id=str(conversation_id))
        return closed
