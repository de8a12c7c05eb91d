"""Per-user and per-key rate limits that hold across gateway replicas.

Counts live in the gateway's state store per subject and fixed window, spread over a few shards: a
check reads all shards in one bulk read and, when under the limit, increments one random shard with
its etag. A single counter key would make every concurrent request of one busy API key conflict on
the same etag; shards keep conflicts rare while every replica still sees every count. The price is a
small overshoot: requests checked at the same instant can each see "one left" (bounded by the number
in flight), and a fixed window lets a burst straddle its boundary. When the store is down the check
fails with 503 (the turn could not be recorded anyway).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

from helpdesk.dapr.ports import ETagMismatch, KeyValueStore
from helpdesk.dapr.state import Records
from helpdesk.errors import Problem

SHARDS = 16
ATTEMPTS = 6


class WindowCount(BaseModel):
    count: int


@dataclass(frozen=True, slots=True)
class Limit:
    subject: str
    """What is limited: `user:<id>`, `key:<id>` or `ip:<address>`."""
    per_window: int


class RateLimiter:
    def __init__(
        self,
        window_seconds: int = 60,
        clock: Callable[[], float] = time.time,
        pick: Callable[[int], int] = lambda n: random.randrange(n),
    ) -> None:
        self.window_seconds = window_seconds
        self._now = clock
        self._pick = pick

    async def admit(self, store: KeyValueStore, limits: list[Limit]) -> None:
        """Count one request against every limit, or raise 429 with `Retry-After`."""
        now = self._now()
        window = int(now // self.window_seconds)
        retry_after = max(1, math.ceil((window + 1) * self.window_seconds - now))
        records = Records(store, WindowCount, "ratelimit", ttl_seconds=self.window_seconds * 2)
        for limit in limits:
            if limit.per_window > 0 and not await self._count(
                store, records, f"{limit.subject}:{window}", limit
            ):
                raise Problem(
                    429,
                    "Too many requests; slow down and retry later.",
                    kind="rate-limited",
                    headers={"Retry-After": str(retry_after)},
                )

    async def _count(
        self, store: KeyValueStore, records: Records[WindowCount], base: str, limit: Limit
    ) -> bool:
        shards = [f"{base}:{i}" for i in range(SHARDS)]
        found = await store.get_many([records.key(s) for s in shards])
        used = sum(WindowCount.model_validate_json(v.value).count for v in found.values())
        if used >= limit.per_window:
            return False
        for _ in range(ATTEMPTS):
            shard = shards[self._pick(SHARDS)]
            try:
                await records.update(
                    shard, lambda c: WindowCount(count=(c.count if c else 0) + 1), attempts=1
                )
                return True
            except ETagMismatch:
                continue
        return False  # so contended that it is certainly over any sensible limit
