"""Answers coming back from dialogue: stored once on their turn, handed to the request waiting for them,
and pushed to channels that push (Teams).

The replica holding the request gets the answer's live copy on the broadcast subscription (`wake`: the
copy is addressed to it, and the other replicas' sidecars skip it), and one replica gets the answer on
the competing subscription (`complete`, then `push`); whichever delivery comes first wakes the waiting
request, and whichever reply is stored first is the one every waiter gets.

On the replica holding the request both deliveries usually arrive within the same millisecond. They
store the reply one after the other (`_one_at_a_time`): run together, each read the turn and wrote it,
and the second write failed its etag and read the turn again, five state calls where two do.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

from helpdesk.dapr.ports import SidecarUnavailable
from helpdesk.dapr.state import Records
from helpdesk.events import ChatAnswered, ChatEscalated
from helpdesk.logging import get_logger
from services.gateway.delivery import Deliveries
from services.gateway.desk.handoff_places import HandoffPlaces, handoff_limit_reply
from services.gateway.turns import ReplyRefusal, TurnRecord, reply_from
from services.gateway.waiters import AnswerWaiters

_log = get_logger(__name__)

Answer = ChatAnswered | ChatEscalated


class AnswerDesk:
    """Stores, hands over and pushes the answers to turns."""

    def __init__(
        self,
        turns: Records[TurnRecord],
        places: HandoffPlaces,
        waiters: AnswerWaiters,
        deliveries: Deliveries,
    ) -> None:
        self._turns = turns
        self._places = places
        self._waiters = waiters
        self._deliveries = deliveries
        self._storing: dict[UUID, asyncio.Event] = {}

    async def wake(self, event: Answer) -> None:
        """Broadcast path: if the request for this turn waits on this replica, store the reply (so the
        caller's next read sees it) and wake the request. A copy addressed to nobody (a turn nobody
        waits for) reaches every replica; those that do not hold its request ignore it."""
        if not self._waiters.holds(event.turn_id):
            return
        async with self._one_at_a_time(event.turn_id):
            if not self._waiters.holds(event.turn_id):
                return  # the competing delivery stored the reply and answered the request meanwhile
            try:
                await self._complete(event)
            except SidecarUnavailable:
                _log.warning("reply_not_stored_on_wake", turn_id=str(event.turn_id))
        self._waiters.resolve(event.turn_id, reply_from(event))

    @asynccontextmanager
    async def _one_at_a_time(self, turn_id: UUID) -> AsyncIterator[None]:
        """Store the replies of one turn one at a time on this replica: a delivery waits while another
        one of the same turn is storing (the lock is per turn and leaves nothing behind)."""
        while (storing := self._storing.get(turn_id)) is not None:
            await storing.wait()
        done = self._storing[turn_id] = asyncio.Event()
        try:
            yield
        finally:
            del self._storing[turn_id]
            done.set()

    async def complete(self, event: Answer) -> bool:
        """Competing path: store the reply once, and answer the request if it waits on this replica
        (the live copy that follows then finds no waiter and costs no state call). True when this call
        stored the reply (not a redelivery).

        An escalation first takes a place among its user's open handoffs; when none is left the turn is
        answered with a refusal instead. Both deliveries of an answer (this path and the live copy's)
        come here: taking a place is idempotent per conversation, and whichever reply is stored first
        is the one every waiter gets."""
        async with self._one_at_a_time(event.turn_id):
            return await self._complete(event)

    async def _complete(self, event: Answer) -> bool:
        reply = reply_from(event)
        placed = False
        if isinstance(event, ChatEscalated) and self._places.enabled(event.channel.user_id):
            placed = await self._places.take(event.channel.user_id, event.conversation_id)
            if not placed:
                reply = handoff_limit_reply(self._places.limit(event.channel.user_id), event.language)
        stored = False

        def attach(current: TurnRecord | None) -> TurnRecord | None:
            nonlocal stored
            if current is None:
                return None
            completed = current.complete(reply)
            stored = completed is not None
            return completed

        turn = await self._turns.update(event.turn_id, attach)
        if turn is None:
            _log.warning("answer_for_unknown_turn", turn_id=str(event.turn_id))
            return False
        if stored:
            _log.info("turn_completed", turn_id=str(event.turn_id), status=turn.status.value)
        elif placed and turn.reply is not None and turn.reply.refusal is ReplyRefusal.HANDOFF_LIMIT:
            await self._places.release(event.channel.user_id, event.conversation_id)
        self._waiters.resolve(event.turn_id, turn.reply or reply)
        return stored

    async def push(self, event: Answer) -> None:
        """Competing path, after `complete`: send the reply on channels that push (Teams), once."""
        sender = self._deliveries.sender_for(event.channel.channel)
        if sender is None:
            return
        reply = reply_from(event)
        if isinstance(event, ChatEscalated):
            turn = await self._turns.get(event.turn_id)
            if turn is not None and turn.reply is not None:
                reply = turn.reply  # the refusal, when the escalation found no place left

        async def send() -> None:
            await sender.send_reply(event.channel, event.turn_id, reply)

        await self._deliveries.once(event.turn_id, send)
