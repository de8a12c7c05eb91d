"""The gateway's work, between its routes and the ports: accept a turn, complete it, show it, and keep
the handoffs.

Routes and subscription handlers stay thin and call into `FrontDesk`; it knows nothing about HTTP
beyond raising `Problem`s with the right status.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from uuid import UUID, uuid4

from helpdesk.auth import ApiKeys, Principal, is_visitor
from helpdesk.dapr.ports import ETagMismatch, SidecarUnavailable
from helpdesk.dapr.state import Records
from helpdesk.errors import Problem
from helpdesk.events import (
    MAX_COMMENT_CHARS,
    AnswerMode,
    ChannelRef,
    ChatAnswered,
    ChatEscalated,
    ChatRequested,
    FeedbackSubmitted,
    HandoffReplied,
    Language,
    Rating,
)
from helpdesk.flags import Flag
from helpdesk.logging import get_logger
from helpdesk.runtime import Runtime, RuntimeOf
from services.gateway.channels.web.sessions import WebSessions
from services.gateway.delivery import Deliveries
from services.gateway.handoffs import Handoff, HandoffMessage, OpenHandoffs, agent_message, opened_from
from services.gateway.idempotency import IdempotencyKeys
from services.gateway.ratelimit import Limit, RateLimiter
from services.gateway.settings import GatewaySettings
from services.gateway.turns import ConversationRecord, Reply, TurnRecord, TurnStatus, at_rest, reply_from
from services.gateway.waiters import AnswerWaiters

_log = get_logger(__name__)

OPEN_HANDOFFS = "open"
HANDOFF_LIMIT = "handoff-limit"
"""The refusal of a turn whose escalation would have opened one handoff too many for its user."""


@dataclass(frozen=True, slots=True)
class Accepted:
    turn: TurnRecord
    reply: Reply | None
    replayed: bool = False


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


class FrontDesk:
    def __init__(self, settings: GatewaySettings, runtime_of: RuntimeOf) -> None:
        self.settings = settings
        self._runtime_of = runtime_of
        self.waiters = AnswerWaiters()
        self.api_keys = ApiKeys()
        self.rate_limiter = RateLimiter(settings.rate_limit_window_seconds)
        self.deliveries = Deliveries(retention_seconds=settings.turn_retention_seconds)
        self.idempotency = IdempotencyKeys(settings.idempotency_ttl_seconds)
        self.web_sessions = WebSessions(None, settings.web_session_ttl_seconds)

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

    @property
    def handoffs(self) -> Records[Handoff]:
        return Records(self.runtime.state, Handoff, "handoff", self.settings.turn_retention_seconds)

    @property
    def open_handoffs(self) -> Records[OpenHandoffs]:
        return Records(self.runtime.state, OpenHandoffs, "handoffs")

    @property
    def handoff_places(self) -> Records[OpenHandoffs]:
        """Per user: the conversations holding one of the user's places among open handoffs."""
        return Records(self.runtime.state, OpenHandoffs, "handoffs-of", self.settings.turn_retention_seconds)

    def unavailable(self, what: str) -> Problem:
        return Problem(
            503,
            f"The helpdesk cannot {what} right now; please retry.",
            kind="unavailable",
            headers={"Retry-After": str(self.settings.retry_after_seconds)},
        )

    # ---- accepting a message ---------------------------------------------------------------------

    @staticmethod
    def _counted_as(principal: Principal, client_address: str | None) -> str:
        """Whom a per-user limit counts: the user, but an anonymous client by its address, since anyone
        becomes a new anonymous client by dropping its cookie."""
        if principal.is_anonymous:
            return f"ip:{client_address or 'unknown'}"
        return f"user:{principal.user_id}"

    def _limits(self, incoming: Incoming) -> list[Limit]:
        principal = incoming.principal
        who = self._counted_as(principal, incoming.client_address)
        limits = [Limit(who, self.settings.rate_limit_per_user)]
        if principal.key_id:
            limits.append(Limit(f"key:{principal.key_id}", self.settings.rate_limit_per_key))
        return limits

    async def _own_conversation(
        self, principal: Principal, conversation_id: UUID
    ) -> tuple[ConversationRecord, str] | None:
        """The caller's conversation and its etag; None when it does not exist; 404 when it is someone
        else's (its existence is not revealed)."""
        loaded = await self.conversations.load(conversation_id)
        if loaded is not None and loaded[0].user_id != principal.user_id:
            raise Problem(404, "No such conversation.", kind="not-found")
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
        if known is None:
            fresh = ConversationRecord(
                conversation_id=turn.conversation_id,
                user_id=principal.user_id,
                channel=channel.channel,
                turn_ids=[turn.turn_id],
            )
            if await self.conversations.create(turn.conversation_id, fresh):
                return
        else:
            record, etag = known
            updated = record.with_turn(turn.turn_id)
            if updated is None:
                return
            try:
                await self.conversations.save(turn.conversation_id, updated, etag=etag)
                return
            except ETagMismatch:
                pass

        def add(current: ConversationRecord | None) -> ConversationRecord | None:
            if current is not None and current.user_id != principal.user_id:
                raise Problem(404, "No such conversation.", kind="not-found")
            if current is None:
                return ConversationRecord(
                    conversation_id=turn.conversation_id,
                    user_id=principal.user_id,
                    channel=channel.channel,
                    turn_ids=[turn.turn_id],
                )
            return current.with_turn(turn.turn_id)

        await self.conversations.update(turn.conversation_id, add)

    async def accept(self, incoming: Incoming, *, wait: bool) -> Accepted:
        """Record the turn and publish `chat.requested` (or hand it to the agent who has the
        conversation), then, if asked, wait for the reply."""
        try:
            known = None
            if incoming.conversation_id is not None:
                known = await self._own_conversation(incoming.principal, incoming.conversation_id)
            await self.rate_limiter.admit(self.runtime.state, self._limits(incoming))
            turn_id = incoming.turn_id or uuid4()
            if incoming.idempotency_key and incoming.fingerprint:
                claimed = await self.idempotency.claim(
                    self.runtime.state,
                    incoming.principal.user_id,
                    incoming.idempotency_key,
                    incoming.fingerprint,
                    turn_id,
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
                handoff = await self.handoffs.get(turn.conversation_id)
                if handoff is not None and handoff.is_open:
                    return await self._to_agent(handoff, turn)
            if not await self.turns.create(turn.turn_id, turn) and not await self._retry_failed(incoming):
                return await self._replay(incoming.principal, turn.turn_id, wait=wait)
            await self._list_turn(incoming.principal, incoming.channel, turn, known)
        except SidecarUnavailable:
            raise self.unavailable("accept messages") from None
        event = ChatRequested(
            turn_id=turn.turn_id,
            conversation_id=turn.conversation_id,
            channel=incoming.channel,
            text=turn.question,
            locale_hint=incoming.locale,
        )
        waiter = self.waiters.register(turn.turn_id) if wait else None
        try:
            await self.runtime.bus.publish(event)
        except SidecarUnavailable:
            self.waiters.discard(turn.turn_id)
            await self._mark_failed(turn.turn_id)
            if incoming.idempotency_key:
                await self._release_key(incoming)
            raise self.unavailable("accept messages") from None
        _log.info("turn_accepted", turn_id=str(turn.turn_id), channel=incoming.channel.channel.value)
        if waiter is None:
            return Accepted(turn, None)
        return Accepted(turn, await self._wait(turn.turn_id, waiter))

    async def _wait(self, turn_id: UUID, waiter: asyncio.Future[Reply]) -> Reply | None:
        try:
            return await asyncio.wait_for(waiter, timeout=self.settings.chat_wait_seconds)
        except (TimeoutError, asyncio.CancelledError):
            return None
        finally:
            self.waiters.discard(turn_id)

    async def _replay(self, principal: Principal, turn_id: UUID, *, wait: bool) -> Accepted:
        """A repeat of an earlier request: its turn as it stands, waiting for the reply like the first."""
        waiter = self.waiters.register(turn_id) if wait and not self.waiters.holds(turn_id) else None
        turn = await self.turns.get(turn_id)
        if turn is None or turn.user_id != principal.user_id:
            if waiter is not None:
                self.waiters.discard(turn_id)
            raise Problem(409, "The earlier request with this key is still being recorded.", kind="conflict")
        if turn.reply is not None or waiter is None:
            if waiter is not None:
                self.waiters.discard(turn_id)
            return Accepted(turn, turn.reply, replayed=True)
        return Accepted(turn, await self._wait(turn_id, waiter), replayed=True)

    async def _to_agent(self, handoff: Handoff, turn: TurnRecord) -> Accepted:
        held = turn.model_copy(update={"status": TurnStatus.HANDED_OFF})
        await self.turns.create(held.turn_id, held)
        await self.conversations.update(
            held.conversation_id, lambda c: c.with_turn(held.turn_id) if c else None
        )
        message = HandoffMessage(id=held.turn_id, author="user", text=held.question)
        await self.handoffs.update(handoff.conversation_id, lambda h: h.with_message(message) if h else None)
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

        await self.turns.update(incoming.turn_id, retry)
        return retried

    async def _release_key(self, incoming: Incoming) -> None:
        assert incoming.idempotency_key is not None
        try:
            await self.idempotency.release(
                self.runtime.state, incoming.principal.user_id, incoming.idempotency_key
            )
        except SidecarUnavailable:
            _log.warning("idempotency_key_not_released")

    async def _mark_failed(self, turn_id: UUID) -> None:
        def fail(current: TurnRecord | None) -> TurnRecord | None:
            if current is None or current.status is not TurnStatus.PENDING:
                return None
            return current.model_copy(update={"status": TurnStatus.FAILED})

        try:
            await self.turns.update(turn_id, fail)
        except SidecarUnavailable:
            _log.warning("turn_not_marked_failed", turn_id=str(turn_id))

    # ---- reading --------------------------------------------------------------------------------

    async def turn_of(self, principal: Principal, turn_id: UUID) -> TurnRecord:
        try:
            turn = await self.turns.get(turn_id)
        except SidecarUnavailable:
            raise self.unavailable("look up messages") from None
        if turn is None or turn.user_id != principal.user_id:
            raise Problem(404, "No such message.", kind="not-found")
        return turn

    async def conversation_of(
        self, principal: Principal, conversation_id: UUID, *, as_operator: bool = False
    ) -> tuple[ConversationRecord, list[TurnRecord], Handoff | None]:
        try:
            conversation = await self.conversations.get(conversation_id)
            if conversation is None or (conversation.user_id != principal.user_id and not as_operator):
                raise Problem(404, "No such conversation.", kind="not-found")
            keys = [self.turns.key(t) for t in conversation.turn_ids]
            found = await self.runtime.state.get_many(keys)
            handoff = await self.handoffs.get(conversation_id)
        except SidecarUnavailable:
            raise self.unavailable("look up conversations") from None
        turns = [TurnRecord.model_validate_json(found[k].value) for k in keys if k in found]
        return conversation, turns, handoff

    # ---- answers coming back -------------------------------------------------------------------

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
        """Competing path: store the reply once, and answer the request if it waits on this replica
        (the live copy that follows then finds no waiter and costs no state call). True when this call
        stored the reply (not a redelivery).

        An escalation first takes a place among its user's open handoffs; when none is left the turn is
        answered with a refusal instead. Both deliveries of an answer (this path and the live copy's)
        come here: taking a place is idempotent per conversation, and whichever reply is stored first
        is the one every waiter gets."""
        reply = reply_from(event)
        placed = False
        if isinstance(event, ChatEscalated) and self.handoff_enabled(event.channel.user_id):
            placed = await self._take_handoff_place(event)
            if not placed:
                reply = handoff_limit_reply(self._handoff_limit(event.channel.user_id), event.language)
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
            _log.info("turn_completed", turn_id=str(event.turn_id), status=turn.status.value)
        elif placed and turn.reply is not None and turn.reply.refusal == HANDOFF_LIMIT:
            assert isinstance(event, ChatEscalated)
            await self._release_handoff_place(event.channel.user_id, event.conversation_id)
        self.waiters.resolve(event.turn_id, turn.reply or reply)
        return stored

    async def push(self, event: ChatAnswered | ChatEscalated) -> None:
        """Competing path, after `complete`: send the reply on channels that push (Teams), once."""
        sender = self.deliveries.senders.get(event.channel.channel)
        if sender is None:
            return
        reply = reply_from(event)
        if isinstance(event, ChatEscalated):
            turn = await self.turns.get(event.turn_id)
            if turn is not None and turn.reply is not None:
                reply = turn.reply  # the refusal, when the escalation found no place left

        async def send() -> None:
            await sender.send_reply(event.channel, event.turn_id, reply)

        await self.deliveries.once(self.runtime.state, event.turn_id, send)

    # ---- handoffs -------------------------------------------------------------------------------

    def handoff_enabled(self, user_id: str) -> bool:
        from openfeature.evaluation_context import EvaluationContext

        return self.runtime.flags.get_boolean_value(Flag.HANDOFF.value, True, EvaluationContext(user_id))

    def _handoff_limit(self, user_id: str) -> int:
        if is_visitor(user_id):
            return self.settings.open_handoffs_per_session
        return self.settings.open_handoffs_per_user

    async def _take_handoff_place(self, event: ChatEscalated) -> bool:
        """Whether the escalated conversation holds, or could now take, one of its user's places."""
        user_id = event.channel.user_id
        limit = self._handoff_limit(user_id)
        if limit == 0:
            return True
        taken = True

        def take(current: OpenHandoffs | None) -> OpenHandoffs | None:
            nonlocal taken
            places = current or OpenHandoffs()
            taken = places.has_room_for(event.conversation_id, limit)
            return places.with_open(event.conversation_id) if taken else None

        await self.handoff_places.update(user_id, take)
        if not taken:
            _log.info("handoff_limit_reached", conversation_id=str(event.conversation_id), limit=limit)
        return taken

    async def _holds_handoff_place(self, event: ChatEscalated) -> bool:
        if self._handoff_limit(event.channel.user_id) == 0:
            return True
        places = await self.handoff_places.get(event.channel.user_id)
        return places is not None and event.conversation_id in places.conversation_ids

    async def _release_handoff_place(self, user_id: str, conversation_id: UUID) -> None:
        await self.handoff_places.update(user_id, lambda o: o.without(conversation_id) if o else None)

    async def open_handoff(self, event: ChatEscalated) -> None:
        if not self.handoff_enabled(event.channel.user_id):
            return
        if not await self._holds_handoff_place(event):
            return
        opened = await self.handoffs.update(event.conversation_id, lambda h: opened_from(event, h))
        if opened is not None and opened.is_open:
            await self.conversations.update(
                event.conversation_id, lambda c: c.model_copy(update={"handoff_open": True}) if c else None
            )
            await self.open_handoffs.update(
                OPEN_HANDOFFS, lambda o: (o or OpenHandoffs()).with_open(event.conversation_id)
            )
            _log.info("handoff_opened", conversation_id=str(event.conversation_id), reason=event.reason.value)

    async def list_open_handoffs(self) -> list[Handoff]:
        try:
            index = await self.open_handoffs.get(OPEN_HANDOFFS)
            if index is None:
                return []
            found = await self.runtime.state.get_many([self.handoffs.key(c) for c in index.conversation_ids])
        except SidecarUnavailable:
            raise self.unavailable("list handoffs") from None
        handoffs = [Handoff.model_validate_json(v.value) for v in found.values()]
        return sorted((h for h in handoffs if h.is_open), key=lambda h: h.opened_at)

    async def handoff_of(self, conversation_id: UUID) -> Handoff:
        try:
            handoff = await self.handoffs.get(conversation_id)
        except SidecarUnavailable:
            raise self.unavailable("look up handoffs") from None
        if handoff is None:
            raise Problem(404, "No handoff for this conversation.", kind="not-found")
        return handoff

    async def reply_as_agent(self, operator: Principal, conversation_id: UUID, text: str) -> HandoffReplied:
        handoff = await self.handoff_of(conversation_id)
        if not handoff.is_open:
            raise Problem(409, "This handoff is closed.", kind="handoff-closed")
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
            await self.runtime.bus.publish(event)
        except SidecarUnavailable:
            raise self.unavailable("send the reply") from None
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

        await self.handoffs.update(event.conversation_id, add)
        sender = self.deliveries.senders.get(event.channel.channel)
        if sender is not None:

            async def send() -> None:
                await sender.send_agent_message(event.channel, event.turn_id, event.answer)

            await self.deliveries.once(self.runtime.state, event.turn_id, send)
        return added

    async def close_handoff(self, operator: Principal, conversation_id: UUID) -> Handoff:
        try:
            closed = await self.handoffs.update(
                conversation_id, lambda h: h.closed(operator.user_id) if h else None
            )
            if closed is None:
                raise Problem(404, "No handoff for this conversation.", kind="not-found")
            await self.open_handoffs.update(
                OPEN_HANDOFFS, lambda o: o.without(conversation_id) if o else None
            )
            await self._release_handoff_place(closed.user_id, conversation_id)
            await self.conversations.update(
                conversation_id, lambda c: c.model_copy(update={"handoff_open": False}) if c else None
            )
        except SidecarUnavailable:
            raise self.unavailable("close the handoff") from None
        _log.info("handoff_closed", conversation_id=str(conversation_id))
        return closed

    # ---- feedback -------------------------------------------------------------------------------

    async def feedback(
        self,
        principal: Principal,
        turn_id: UUID,
        rating: Rating,
        comment: str | None,
        *,
        client_address: str | None = None,
    ) -> TurnRecord:
        """One rating per answer, published once as `feedback.submitted`.

        The evaluator joins the first rating of a turn to its evaluation and counts it once, so a
        second, different rating could not change what the statistics show: it is refused (409) rather
        than stored where the user would see a choice nobody counts. The same rating again is answered
        as the first was, without a second event."""
        who = self._counted_as(principal, client_address)
        limit = Limit(f"feedback:{who}", self.settings.feedback_per_user)
        try:
            await self.rate_limiter.admit(self.runtime.state, [limit])
        except SidecarUnavailable:
            raise self.unavailable("record feedback") from None
        turn = await self.turn_of(principal, turn_id)
        if turn.reply is None:
            raise Problem(409, "This message has no answer to rate yet.", kind="not-answered")
        first = False

        def rate(current: TurnRecord | None) -> TurnRecord | None:
            nonlocal first
            first = current is not None and current.feedback is None
            return current.model_copy(update={"feedback": rating}) if first and current else None

        try:
            rated = await self.turns.update(turn_id, rate)
        except SidecarUnavailable:
            raise self.unavailable("record feedback") from None
        if rated is None:
            raise Problem(404, "No such message.", kind="not-found")
        if not first:
            if rated.feedback is rating:
                return rated
            raise Problem(
                409,
                f"This answer is already rated {rated.feedback}; each answer takes one rating.",
                kind="already-rated",
            )
        event = FeedbackSubmitted(
            turn_id=turn_id,
            conversation_id=turn.conversation_id,
            channel=ChannelRef(channel=turn.channel, user_id=principal.user_id),
            rating=rating,
            comment=at_rest(comment, MAX_COMMENT_CHARS) if comment else None,
        )
        try:
            await self.runtime.bus.publish(event)
        except SidecarUnavailable:
            await self._withdraw_rating(turn_id, rating)
            raise self.unavailable("record feedback") from None
        return rated

    async def _withdraw_rating(self, turn_id: UUID, rating: Rating) -> None:
        """Undo a rating whose event could not be published, so that the user's retry publishes it."""

        def withdraw(current: TurnRecord | None) -> TurnRecord | None:
            if current is None or current.feedback is not rating:
                return None
            return current.model_copy(update={"feedback": None})

        try:
            await self.turns.update(turn_id, withdraw)
        except SidecarUnavailable:
            _log.warning("rating_not_withdrawn", turn_id=str(turn_id))


def handoff_limit_reply(limit: int, language: Language) -> Reply:
    """What a user is told when an escalation finds all of their places among open handoffs taken."""
    if language is Language.JA:
        text = (
            f"担当者の対応を待っている会話がすでに{limit}件あります。その会話でお続けください。"
            "担当者が会話を終了すると、新しく依頼できます。"
        )
    else:
        waiting = "a conversation" if limit == 1 else f"{limit} conversations"
        text = (
            f"You already have {waiting} waiting for a person. Please continue there; you can ask "
            "for a person again once one of them has been closed."
        )
    return Reply(text=text, mode=AnswerMode.FALLBACK, language=language, refusal=HANDOFF_LIMIT)
