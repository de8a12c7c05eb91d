"""The gateway's work, between its routes and the ports: accept a turn, complete it, show it.

Routes and subscription handlers stay thin and call into `FrontDesk`; it knows nothing about HTTP
beyond raising `Problem`s with the right status.
"""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

from helpdesk.auth import ApiKeys, Principal
from helpdesk.dapr.ports import SidecarUnavailable
from helpdesk.dapr.state import Records
from helpdesk.errors import Problem
from helpdesk.events import ChannelRef, ChatAnswered, ChatEscalated, ChatRequested
from helpdesk.logging import get_logger
from helpdesk.runtime import Runtime, RuntimeOf
from services.gateway.settings import GatewaySettings
from services.gateway.turns import ConversationRecord, Reply, TurnRecord, TurnStatus, reply_from
from services.gateway.waiters import AnswerWaiters

_log = get_logger(__name__)


class Accepted:
    def __init__(self, turn: TurnRecord, reply: Reply | None) -> None:
        self.turn = turn
        self.reply = reply


class FrontDesk:
    def __init__(self, settings: GatewaySettings, runtime_of: RuntimeOf) -> None:
        self.settings = settings
        self._runtime_of = runtime_of
        self.waiters = AnswerWaiters()
        self.api_keys = ApiKeys()

    @property
    def runtime(self) -> Runtime:
        return self._runtime_of()

    @property
    def turns(self) -> Records[TurnRecord]:
        return Records(self.runtime.state, TurnRecord, "turn", self.settings.turn_retention_seconds)

    @property
    def conversations(self) -> Records[ConversationRecord]:
        return Records(
            self.runtime.state, ConversationRecord, "conversation", self.settings.turn_retention_seconds
        )

    def unavailable(self, what: str) -> Problem:
        return Problem(
            503,
            f"The helpdesk cannot {what} right now; please retry.",
            kind="unavailable",
            headers={"Retry-After": str(self.settings.retry_after_seconds)},
        )

    async def conversation_for(
        self, principal: Principal, channel: ChannelRef, conversation_id: UUID | None
    ) -> ConversationRecord:
        """The caller's conversation: an existing one of theirs, or a new one under the given id."""
        wanted = conversation_id or uuid4()
        try:
            existing = await self.conversations.get(wanted)
            if existing is None:
                fresh = ConversationRecord(
                    conversation_id=wanted, user_id=principal.user_id, channel=channel.channel
                )
                if await self.conversations.create(wanted, fresh):
                    return fresh
                existing = await self.conversations.get(wanted)
        except SidecarUnavailable:
            raise self.unavailable("accept messages") from None
        if existing is None or existing.user_id != principal.user_id:
            raise Problem(404, "No such conversation.", kind="not-found")
        return existing

    async def accept(
        self,
        principal: Principal,
        channel: ChannelRef,
        text: str,
        conversation_id: UUID | None,
        locale: str | None,
        *,
        wait: bool,
    ) -> Accepted:
        """Record the turn, publish `chat.requested`, and (if asked) wait for the reply."""
        conversation = await self.conversation_for(principal, channel, conversation_id)
        turn = TurnRecord(
            turn_id=uuid4(),
            conversation_id=conversation.conversation_id,
            user_id=principal.user_id,
            channel=channel.channel,
            question=text,
        )
        event = ChatRequested(
            turn_id=turn.turn_id,
            conversation_id=turn.conversation_id,
            channel=channel,
            text=text,
            locale_hint=locale,
        )
        try:
            await self.turns.create(turn.turn_id, turn)
            await self.conversations.update(
                turn.conversation_id, lambda c: c.with_turn(turn.turn_id) if c else None
            )
        except SidecarUnavailable:
            raise self.unavailable("accept messages") from None
        waiter = self.waiters.register(turn.turn_id) if wait else None
        try:
            await self.runtime.bus.publish(event)
        except SidecarUnavailable:
            self.waiters.discard(turn.turn_id)
            await self._mark_failed(turn.turn_id)
            raise self.unavailable("accept messages") from None
        _log.info("turn_accepted", turn_id=str(turn.turn_id), channel=channel.channel.value, chars=len(text))
        if waiter is None:
            return Accepted(turn, None)
        try:
            reply = await asyncio.wait_for(waiter, timeout=self.settings.chat_wait_seconds)
        except (TimeoutError, asyncio.CancelledError):
            return Accepted(turn, None)
        finally:
            self.waiters.discard(turn.turn_id)
        return Accepted(turn, reply)

    async def _mark_failed(self, turn_id: UUID) -> None:
        def fail(current: TurnRecord | None) -> TurnRecord | None:
            if current is None or current.status is not TurnStatus.PENDING:
                return None
            return current.model_copy(update={"status": TurnStatus.FAILED})

        try:
            await self.turns.update(turn_id, fail)
        except SidecarUnavailable:
            _log.warning("turn_not_marked_failed", turn_id=str(turn_id))

    async def turn_of(self, principal: Principal, turn_id: UUID) -> TurnRecord:
        try:
            turn = await self.turns.get(turn_id)
        except SidecarUnavailable:
            raise self.unavailable("look up messages") from None
        if turn is None or turn.user_id != principal.user_id:
            raise Problem(404, "No such message.", kind="not-found")
        return turn

    async def conversation_of(
        self, principal: Principal, conversation_id: UUID
    ) -> tuple[ConversationRecord, list[TurnRecord]]:
        try:
            conversation = await self.conversations.get(conversation_id)
            if conversation is None or conversation.user_id != principal.user_id:
                raise Problem(404, "No such conversation.", kind="not-found")
            found = await self.runtime.state.get_many([self.turns.key(t) for t in conversation.turn_ids])
        except SidecarUnavailable:
            raise self.unavailable("look up conversations") from None
        turns = [
            TurnRecord.model_validate_json(found[self.turns.key(t)].value)
            for t in conversation.turn_ids
            if self.turns.key(t) in found
        ]
        return conversation, turns

    async def wake(self, event: ChatAnswered | ChatEscalated) -> None:
        """Broadcast path: if the request for this turn waits on this replica, store the reply (so the
        caller's next read sees it) and wake the request. Other replicas ignore the event."""
        if not self.waiters.holds(event.turn_id):
            return
        try:
            await self.complete(event)
        except SidecarUnavailable:
            _log.warning("reply_not_stored_on_wake", turn_id=str(event.turn_id))
        self.waiters.resolve(event.turn_id, reply_from(event))

    async def complete(self, event: ChatAnswered | ChatEscalated) -> bool:
        """Competing path: store the reply once. True when this call stored it (not a redelivery)."""
        reply = reply_from(event)
        stored = False

        def attach(current: TurnRecord | None) -> TurnRecord | None:
            nonlocal stored
            if current is None:
                return None
            completed = current.complete(reply)
            stored = completed is not None
            return completed

        turn = await self.turns.update(event.turn_id, attach)
        if turn is None:
            _log.warning("answer_for_unknown_turn", turn_id=str(event.turn_id))
            return False
        if stored:
            await self.conversations.update(
                turn.conversation_id, lambda c: c.with_turn(turn.turn_id) if c else None
            )
            _log.info("turn_completed", turn_id=str(event.turn_id), status=turn.status.value)
        return stored
