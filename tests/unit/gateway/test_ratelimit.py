"""Rate limits hold across replicas: limiters sharing one store admit exactly the limit."""

from __future__ import annotations

import asyncio

import pytest

from helpdesk.memory_ports import MemoryStateStore
from services.gateway.gateway_errors import RateLimited
from services.gateway.ratelimit import Limit, RateLimiter


async def admitted(limiters: list[RateLimiter], store: MemoryStateStore, requests: int, limit: int) -> int:
    count = 0
    refusals: list[RateLimited] = []
    for i in range(requests):
        try:
            await limiters[i % len(limiters)].admit([Limit("user:u", limit)])
            count += 1
        except RateLimited as problem:
            refusals.append(problem)
    assert all(p.status == 429 and int(p.headers["Retry-After"]) >= 1 for p in refusals)
    return count


async def test_two_replicas_share_one_budget() -> None:
    store = MemoryStateStore()
    replicas = [RateLimiter(store, 60, clock=lambda: 1000.0), RateLimiter(store, 60, clock=lambda: 1000.0)]
    assert await admitted(replicas, store, requests=12, limit=5) == 5


async def test_a_new_window_starts_a_new_budget() -> None:
    store = MemoryStateStore()
    now = [1000.0]
    limiter = RateLimiter(store, 60, clock=lambda: now[0])
    assert await admitted([limiter], store, requests=4, limit=3) == 3
    now[0] += 60
    assert await admitted([limiter], store, requests=4, limit=3) == 3


async def test_concurrent_requests_of_one_key_are_not_refused_for_contention() -> None:
    store = MemoryStateStore()
    limiter = RateLimiter(store, 60, clock=lambda: 1000.0)
    results = await asyncio.gather(
        *(limiter.admit([Limit("key:k", 1000)]) for _ in range(50)), return_exceptions=True
    )
    assert [r for r in results if isinstance(r, Exception)] == []


@pytest.mark.parametrize("limit", [0])
async def test_a_zero_limit_means_no_limit(limit: int) -> None:
    store = MemoryStateStore()
    assert await admitted([RateLimiter(store)], store, requests=10, limit=limit) == 10
    assert store.writes == 0
