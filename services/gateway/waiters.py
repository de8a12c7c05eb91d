"""HTTP requests waiting, on this replica, for the answer to their turn.

The answer's live copy on `broadcast` is addressed to the replica holding the request (its `address`,
named in the turn's `channel.waiting_on`) and wakes the waiter there; the replica that stores and
delivers the answer is whichever one the competing subscription picked, and it answers the waiter too
when it holds it. Whichever delivery comes first wakes the request.
"""

from __future__ import annotations

import asyncio
from uuid import UUID

from services.gateway.turns import Reply


class AnswerWaiters:
    def __init__(self) -> None:
        self._waiting: dict[UUID, asyncio.Future[Reply]] = {}

    def register(self, turn_id: UUID) -> asyncio.Future[Reply]:
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._waiting[turn_id] = future
        return future

    def resolve(self, turn_id: UUID, reply: Reply) -> bool:
        future = self._waiting.pop(turn_id, None)
        if future is None or future.done():
            return False
        future.set_result(reply)
        return True

    def holds(self, turn_id: UUID) -> bool:
        return turn_id in self._waiting

    def discard(self, turn_id: UUID) -> None:
        future = self._waiting.pop(turn_id, None)
        if future is not None and not future.done():
            future.cancel()

    def __len__(self) -> int:
        return len(self._waiting)
