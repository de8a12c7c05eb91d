"""Per-user and per-key rate limits that hold across gateway replicas.

Counts live in the gateway's state store per subject and fixed window, spread over a few shards: a
check reads the shards of every limit in one bulk read and, when under the limits, increments one
random shard of each with its etag. A single counter key would make every concurrent request of one
busy API key conflict on the same etag; shards keep conflicts rare while every replica still sees
every count. Few shards, because the sidecar answers a bulk read with one store read per key. The price
is a small overshoot: requests checked at the same instant can each see "one left" (bounded by the
number in flight), and a fixed window lets a burst straddle its boundary. When the store is down the
check fails with the store's own error, which callers answer as 503 (the turn could not be recorded
anyway).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

from helpdesk.dapr.ports import ETagMismatch, KeyValueStore, Stored
from helpdesk.dapr.state import Records
from services.gateway.gateway_errors import RateLimited

SHARDS = 4


class WindowCount(BaseModel):
    count: int


@dataclass(frozen=True, slots=True)
class Limit:
    subject: str
    """What is limited: `user:<id>`, `key:<id>` or `ip:<address>`."""
    per_window: int


class RateLimiter:
    """Counts requests per subject and window in the state store, which every replica shares."""

    def __init__(
        self,
        store: KeyValueStore,
        window_seconds: int = 60,
        clock: Callable[[], float] = time.time,
        pick: Callable[[int], int] = lambda n: random.randrange(n),
    ) -> None:
        self._store = store
        self.window_seconds = window_seconds
        self._records = Records(store, WindowCount, "ratelimit", ttl_seconds=window_seconds * 2)
        self._now = clock
        self._pick = pick

    async def admit(self, limits: list[Limit]) -> None:
        """Count one request against every limit, or raise `RateLimited` (429 with `Retry-After`)."""
        now = self._now()
        window = int(now // self.window_seconds)
        retry_after = max(1, math.ceil((window + 1) * self.window_seconds - now))
        records = self._records
        active = [limit for limit in limits if limit.per_window > 0]
        shards = {
            limit.subject: [records.key(f"{limit.subject}:{window}:{i}") for i in range(SHARDS)]
            for limit in active
        }
        found = await self._store.get_many([key for keys in shards.values() for key in keys])
        counts = {key: WindowCount.model_validate_json(value.value).count for key, value in found.items()}
        if any(sum(counts.get(k, 0) for k in shards[limit.subject]) >= limit.per_window for limit in active):
            raise RateLimited(retry_after)
        for limit in active:
            await self._count(records.ttl_seconds, shards[limit.subject], found, counts)

    async def _count(
        self,
        ttl_seconds: int | None,
        shards: list[str],
        found: dict[str, Stored],
        counts: dict[str, int],
    ) -> None:
        """One etag-checked write to a random shard (the bulk read's etag saves reading it again); on a
        conflict, the next shard. If every shard is being written at this instant the request is let
        through uncounted: that many requests in flight at once are the overshoot the module docstring
        admits, not a reason to refuse."""
        start = self._pick(SHARDS)
        for offset in range(SHARDS):
            key = shards[(start + offset) % SHARDS]
            stored = found.get(key)
            count = WindowCount(count=counts.get(key, 0) + 1).model_dump_json().encode()
            try:
                if stored is None:
                    if await self._store.create(key, count, ttl_seconds=ttl_seconds):
                        return
                else:
                    await self._store.save(key, count, etag=stored.etag, ttl_seconds=ttl_seconds)
                    return
            except ETagMismatch:
                continue
