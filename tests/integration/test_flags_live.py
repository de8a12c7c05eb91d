"""A flag flipped in the configuration store changes behaviour within seconds, without a restart (the
OpenFeature provider follows the store's change stream, and re-reads it every 2 s)."""

from __future__ import annotations

import json
import time

import pytest
import redis.asyncio as aioredis

from helpdesk.flags import config_key
from helpdesk_ops.devstack import Stack
from tests.support.stack import client_for, eventually

pytestmark = pytest.mark.integration

ASK_FOR_A_PERSON = "I want to talk to a human please"


async def flip(stack: Stack, name: str, value: object, version: int) -> None:
    client = aioredis.Redis.from_url(f"redis://{stack.redis_address}")
    try:
        await client.set(config_key(name), f"{json.dumps({'value': value})}||{version}")
    finally:
        await client.aclose()


async def escalates(stack: Stack) -> bool:
    async with client_for(stack) as client:
        body = (await client.post("/v1/chat", json={"message": ASK_FOR_A_PERSON})).json()
    return bool(body["escalated"])


async def test_switching_handoffs_off_and_on_takes_effect_within_seconds(stack: Stack) -> None:
    assert await escalates(stack), "with handoffs on, asking for a person escalates"
    try:
        started = time.monotonic()
        await flip(stack, "handoff_enabled", False, 101)

        async def stopped() -> bool:
            return not await escalates(stack)

        assert await eventually(stopped, timeout=15, interval=0.2)
        took = time.monotonic() - started
    finally:
        await flip(stack, "handoff_enabled", True, 102)
    assert took < 5, f"the flip took {took:.1f} s to reach dialogue"
    assert await eventually(lambda: escalates(stack), timeout=15, interval=0.2)
