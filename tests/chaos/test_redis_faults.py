"""Redis stopped and paused under the running stack: the gateway refuses fast with 503 while the store
is gone, accepts again afterwards without a restart, and no accepted turn is lost or duplicated.
These run last in the suite (file order), since every service depends on the store.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from helpdesk_ops.devstack import Stack
from tests.chaos.support import (
    Turns,
    assert_no_turn_lost_or_duplicated,
)

pytestmark = pytest.mark.chaos


async def test_redis_stopped_refuses_chats_with_503_and_loses_no_accepted_turn(chaos_stack: Stack) -> None:
    """Redis stopped (SIGTERM, AOF on), then restarted: while it is down chats get 503 with Retry-After
    and none is accepted; afterwards chats are accepted again without restarting any service."""
    turns = Turns(chaos_stack, "F4", "Redis stopped (SIGTERM, AOF on), then restarted")
    before = await turns.send(5)
    assert chaos_stack.redis.proc is not None, "the chaos suite stops the local redis-server"
    chaos_stack.kill(chaos_stack.redis.proc, signal.SIGTERM)
    assert await chaos_stack.wait_exit(chaos_stack.redis.proc, 20)
    during = Turns(chaos_stack, "F4/down", "chats while Redis is down: 503 + Retry-After, never accepted")
    responses = await during.send(5, timeout=30)
    during.result.seconds = 0
    assert all(r.status_code == 503 for r in responses), [r.status_code for r in responses]
    assert all(r.headers.get("retry-after") for r in responses)
    assert during.result.accepted == 0
    await chaos_stack.restart_redis()
    await asyncio.sleep(5)
    after = await turns.send(10)
    result = await turns.settle(180)
    result.notes["accepted_before"] = sum(r.status_code in (200, 202) for r in before)
    result.notes["accepted_after"] = sum(r.status_code in (200, 202) for r in after)
    assert result.notes["accepted_after"] == 10, "after the restart, chats are accepted again"
    assert_no_turn_lost_or_duplicated(result)


async def test_redis_paused_for_20_s_fails_fast_and_loses_no_turn(chaos_stack: Stack) -> None:
    """Redis SIGSTOPped for 20 s, then SIGCONT: chats during the pause get a fast 503 (the state
    timeout), never a hang, and no accepted turn is lost."""
    turns = Turns(chaos_stack, "F5", "Redis SIGSTOPped 20 s, then SIGCONT")
    await turns.send(5)
    assert chaos_stack.redis.proc is not None
    redis_pid = chaos_stack.redis.proc.pid
    os.kill(redis_pid, signal.SIGSTOP)
    try:
        during = Turns(chaos_stack, "F5/paused", "chats while Redis is paused: fast 503, never a hang")
        started = time.monotonic()
        responses = await during.send(5, timeout=30)
        waited = time.monotonic() - started
        during.result.notes["seconds_for_answers"] = round(waited, 1)
        await asyncio.sleep(max(0.0, 20 - waited))
    finally:
        os.kill(redis_pid, signal.SIGCONT)
    assert all(r.status_code == 503 for r in responses), [r.status_code for r in responses]
    assert waited < 5, "failures must be fast (2 s state timeout), not hang for the whole pause"
    await asyncio.sleep(3)
    await turns.send(10)
    result = await turns.settle(180)
    assert_no_turn_lost_or_duplicated(result)
