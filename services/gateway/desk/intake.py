"""Taking a user's message in: record the turn, publish `chat.requested` (or hand the message to the
agent who has the conversation), and wait for the reply when the caller waits.

A turn is recorded before it is published, so an answer always finds its turn. Limits are counted before
anything is recorded; a repeated request (the same `Idempotency-Key`, or a channel's own message id sent
twice) is answered with the first request's turn as it stands, with one publish in all.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from uuid import UUID, uuid4

from helpdesk.auth import Principal
from helpdesk.dapr.ports import ETagMismatch, EventPublisher, SidecarUnavailable
from helpdesk.events import ChannelRef, ChatRequested
from helpdesk.logging import get_logger
from services.gateway.desk.books import Books
from services.gateway.gateway_errors import ConversationNotFound, EarlierRequestPending, HelpdeskUnavailable
from services.gateway.handoff_records import Author, Handoff, HandoffMessage
from services.gateway.idempotency import IdempotencyKeys
from services.gateway.ratelimit import Limit, RateLimiter
from services.gateway.settings import GatewaySettings
from services.gateway.turns import ConversationRecord, Reply, TurnRecord, TurnStatus, at_rest
from services.gateway.waiters import AnswerWaiters

_log = get_logger(__name__)

REPLAY_READ_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class Incoming:
    """One user message as a channel hands it over."""

    principal: Principal
    channel: ChannelRef
    text: str
    conversation_id: UUID | None = None
    locale: str | None = None
    client_address: str | None = None
    idempotency_key: str | None = None
    fingerprint: str | None = None
    turn_id: UUID | None = None
    """Channels with their own message ids (Teams) derive the turn id from them, for de-duplication."""


@dataclass(frozen=True, slots=True)
class Accepted:
    turn: TurnRecord
    reply: Reply | None
    replayed: bool = False


def counted_as(principal: Principal, client_address: str | None) -> str:
    """Whom a per-user limit counts: the user, but an anonymous client by its address, since anyone
    becomes a new anonymous client by dropping its cookie."""
    if principal.is_anonymous:
        return f"ip:{client_address or 'unknown'}"
    return f"user:{principal.user_id}"


class TurnIntake:
    """Accepts messages from every channel: limits, idempotency, recording, publishing, waiting."""

    def __init__(
        self,
        settings: GatewaySettings,
        books: Books,
        bus: EventPublisher,
        limiter: RateLimiter,
        idempotency: IdempotencyKeys,
        waiters: AnswerWaiters,
    ) -> None:
        self._settings = settings
        self._address = settings.address
        self._books = books
        self._bus = bus
        self._limiter = limiter
        self._idempotency = idempotency
        self._waiters = waiters

    def _unavailable(self) -> HelpdeskUnavailable:
        return HelpdeskUnavailable("accept messages", self._settings.retry_after_seconds)

    async def accept(self, incoming: Incoming, *, wait: bool) -> Accepted:
        """Record the turn and publish `chat.requested` (or hand it to the agent who has the
        conversation), then, if asked, wait for the reply."""
        try:
            recorded = await self._record(incoming, wait=wait)
        except SidecarUnavailable:
            raise self._unavailable() from None
        if isinstance(recorded, Accepted):
            return recorded
        turn = recorded
        channel = incoming.channel
        if wait:
            channel = channel.model_copy(update={"waiting_on": self._address})
        event = ChatRequested(
            turn_id=turn.turn_id,
            conversation_id=turn.conversation_id,
            channel=channel,
            text=turn.question,
            locale_hint=incoming.locale,
        )
        waiter = self._waiters.register(turn.turn_id) if wait else None
        try:
            await self._bus.publish(event)
        except SidecarUnavailable:
            self._waiters.discard(turn.turn_id)
            await self._mark_failed(turn.turn_id)
            if incoming.idempotency_key:
                await self._release_key(incoming)
            raise self._unavailable() from None
        _log.info("turn_accepted", turn_id=str(turn.turn_id), channel=incoming.channel.channel.value)
        if waiter is None:
            return Accepted(turn, None)
        return Accepted(turn, await self._wait(turn.turn_id, waiter))

    async def _record(self, incoming: Incoming, *, wait: bool) -> TurnRecord | Accepted:
        """The new turn, recorded and listed in its conversation and ready to publish; or what the
        caller gets instead (a replay of an earlier request, or the message held for an agent)."""
        known = None
        if incoming.conversation_id is not None:
            known = await self._own_conversation(incoming.principal, incoming.conversation_id)
        await self._limiter.admit(self._limits(incoming))
        turn_id = incoming.turn_id or uuid4()
        if incoming.idempotency_key and incoming.fingerprint:
            claimed = await self._idempotency.claim(
                incoming.principal.user_id, incoming.idempotency_key, incoming.fingerprint, turn_id
            )
            if claimed != turn_id:
                return await self._replay(incoming.principal, claimed, wait=wait)
        turn = TurnRecord(
            turn_id=turn_id,
            conversation_id=incoming.conversation_id or uuid4(),
            user_id=incoming.principal.user_id,
            channel=incoming.channel.channel,
            question=at_rest(incoming.text),
        )
        if known is not None and known[0].handoff_open:
            handoff = await self._books.handoffs.get(turn.conversation_id)
            if handoff is not None and handoff.is_open:
                return await self._to_agent(handoff, turn)
        if not await self._books.turns.create(turn.turn_id, turn) and not await self._retry_failed(incoming):
            return await self._replay(incoming.principal, turn.turn_id, wait=wait)
        await self._list_turn(incoming.principal, incoming.channel, turn, known)
        return turn

    def _limits(self, incoming: Incoming) -> list[Limit]:
        principal = incoming.principal
        limits = [Limit(counted_as(principal, incoming.client_address), self._settings.rate_limit_per_user)]
        if principal.key_id:
            limits.append(Limit(f"key:{principal.key_id}", self._settings.rate_limit_per_key))
        return limits

    async def _own_conversation(
        self, principal: Principal, conversation_id: UUID
    ) -> tuple[ConversationRecord, str] | None:
        """The caller's conversation and its etag; None when it does not exist; not found when it is
        someone else's (its existence is not revealed)."""
        loaded = await self._books.conversations.load(conversation_id)
        if loaded is not None and loaded[0].user_id != principal.user_id:
            raise ConversationNotFound()
        return loaded

    async def _list_turn(
        self,
        principal: Principal,
        channel: ChannelRef,
        turn: TurnRecord,
        known: tuple[ConversationRecord, str] | None,
    ) -> None:
        """Add the turn to its conversation: one write in the common cases (a new conversation is
        created with the turn in it; a known one is saved with the etag it was read with)."""
        conversations = self._books.conversations

        def fresh() -> ConversationRecord:
            return ConversationRecord(
                conversation_id=turn.conversation_id,
                user_id=principal.user_id,
                channel=channel.channel,
                turn_ids=[turn.turn_id],
            )

        if known is None:
            if await conversations.create(turn.conversation_id, fresh()):
                return
        else:
            record, etag = known
            updated = record.with_turn(turn.turn_id)
            if updated is None:
                return
            try:
                await conversations.save(turn.conversation_id, updated, etag=etag)
                return
            except ETagMismatch:
                pass

        def add(current: ConversationRecord | None) -> ConversationRecord | None:
            if current is not None and current.user_id != principal.user_id:
                raise ConversationNotFound()
            return fresh() if current is None else current.with_turn(turn.turn_id)

        await conversations.update(turn.conversation_id, add)

    async def _wait(self, turn_id: UUID, waiter: asyncio.Future[Reply]) -> Reply | None:
        try:
            return await asyncio.wait_for(waiter, timeout=self._settings.chat_wait_seconds)
        except (TimeoutError, asyncio.CancelledError):
            return None
        finally:
            self._waiters.discard(turn_id)

    async def _replay(self, principal: Principal, turn_id: UUID, *, wait: bool) -> Accepted:
        """A repeat of an earlier request: its turn as it stands, waiting for the reply like the first."""
        waiter = self._waiters.register(turn_id) if wait and not self._waiters.holds(turn_id) else None
        turn = await self._books.turns.get(turn_id)
        if turn is None or turn.user_id != principal.user_id:
            if waiter is not None:
                self._waiters.discard(turn_id)
            raise EarlierRequestPending()
        if turn.reply is not None or waiter is None:
            if waiter is not None:
                self._waiters.discard(turn_id)
            return Accepted(turn, turn.reply, replayed=True)
        return Accepted(turn, await self._wait_reading(turn_id, waiter), replayed=True)

    async def _wait_reading(self, turn_id: UUID, waiter: asyncio.Future[Reply]) -> Reply | None:
        """A replay's wait: the answer's live copy is addressed to the replica the first request waited
        on, which may be another one, so besides the waiter (woken here only if the competing delivery
        lands on this replica) the turn is read every `REPLAY_READ_SECONDS` until the reply is on it."""
        deadline = asyncio.get_running_loop().time() + self._settings.chat_wait_seconds
        try:
            while (left := deadline - asyncio.get_running_loop().time()) > 0:
                done, _ = await asyncio.wait({waiter}, timeout=min(REPLAY_READ_SECONDS, left))
                if done:
                    return waiter.result()
                turn = await self._books.turns.get(turn_id)
                if turn is not None and turn.reply is not None:
                    return turn.reply
            return None
        except (asyncio.CancelledError, SidecarUnavailable):
            return None
        finally:
            self._waiters.discard(turn_id)

    async def _to_agent(self, handoff: Handoff, turn: TurnRecord) -> Accepted:
        held = turn.model_copy(update={"status": TurnStatus.HANDED_OFF})
        await self._books.turns.create(held.turn_id, held)
        await self._books.conversations.update(
            held.conversation_id, lambda c: c.with_turn(held.turn_id) if c else None
        )
        message = HandoffMessage(id=held.turn_id, author=Author.USER, text=held.question)
        await self._books.handoffs.update(
            handoff.conversation_id, lambda h: h.with_message(message) if h else None
        )
        _log.info("turn_held_for_agent", turn_id=str(held.turn_id))
        return Accepted(held, None)

    async def _retry_failed(self, incoming: Incoming) -> bool:
        """A channel that names its own turn ids (Teams) resends a message whose publish failed under the
        same id: take the failed turn back to pending so it is published this time. True when taken."""
        if incoming.turn_id is None:
            return False
        retried = False

        def retry(current: TurnRecord | None) -> TurnRecord | None:
            nonlocal retried
            retried = (
                current is not None
                and current.status is TurnStatus.FAILED
                and current.user_id == incoming.principal.user_id
            )
            return current.model_copy(update={"status": TurnStatus.PENDING}) if retried and current else None

        await self._books.turns.update(incoming.turn_id, retry)
        return retried

    async def _release_key(self, incoming: Incoming) -> None:
        assert incoming.idempotency_key is not None
        try:
            await self._idempotency.release(incoming.principal.user_id, incoming.idempotency_key)
        except SidecarUnavailable:
            _log.warning("idempotency_key_not_released")

    async def _mark_failed(self, turn_id: UUID) -> None:
        def fail(current: TurnRecord | None) -> TurnRecord | None:
            if current is None or current.status is not TurnStatus.PENDING:
                return None
            return current.model_copy(update={"status": TurnStatus.FAILED})

        try:
            await self._books.turns.update(turn_id, fail)
        except SidecarUnavailable:
            _log.warning("turn_not_marked_failed", turn_id=str(turn_id))
