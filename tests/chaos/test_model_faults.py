"""A slow or failing model, against the real stack on 127.0.0.1 with a local OpenAI-compatible server:
the turn's deadline and the bounded retries give the FAQ answer, and no turn is lost or duplicated.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from helpdesk_ops.devstack import Stack
from tests.chaos.support import (
    BREAKER_RESET,
    Turns,
    assert_no_turn_lost_or_duplicated,
)
from tests.support.openai_server import OpenAITestServer

pytestmark = pytest.mark.chaos


async def test_a_model_that_takes_30_s_gives_the_faq_answer_within_the_deadline(
    chaos_stack: Stack, model_answers: OpenAITestServer
) -> None:
    """A model that answers after 30 s: the FAQ answer goes out as `fallback` within the generation
    deadline, with one model call per turn (a timed-out call is not retried)."""
    model_answers.latency = 30.0
    turns = Turns(chaos_stack, "F6", "model takes 30 s: FAQ fallback within the deadline")
    started = time.monotonic()
    responses = await turns.send(3, wait=True, timeout=40)
    elapsed = time.monotonic() - started
    turns.result.notes["seconds_for_3_parallel"] = round(elapsed, 1)
    turns.result.notes["model_calls"] = len(model_answers.requests)
    result = await turns.settle(30)
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert {r.json()["mode"] for r in responses} == {"fallback"}
    assert elapsed < 8 + 5, "fallback must come within the generation deadline (8 s) plus the pipeline"
    assert len(model_answers.requests) == 3, "one model call per turn: no retry of a timed-out call"
    assert_no_turn_lost_or_duplicated(result)


@pytest.mark.parametrize("status", [429, 500])
async def test_a_failing_model_gets_bounded_retries_then_the_faq_answer(
    chaos_stack: Stack, model_answers: OpenAITestServer, status: int
) -> None:
    """A model that answers 429 (with Retry-After) or 500 every time: at most 1 + max_retries calls per
    turn, then the FAQ answer as `fallback`."""
    await asyncio.sleep(BREAKER_RESET + 1)  # an earlier scenario may have left the breaker open
    model_answers.fail_always(status, retry_after=1 if status == 429 else None)
    turns = Turns(chaos_stack, f"F7/{status}", f"model answers {status}: bounded back-off, then FAQ")
    responses = await turns.send(4, wait=True)
    result = await turns.settle(30)
    turns.result.notes["model_calls"] = len(model_answers.requests)
    assert {r.json()["mode"] for r in responses} == {"fallback"}
    assert 0 < len(model_answers.requests) <= 4 * 3, "at most 1 + max_retries (2) calls per turn"
    assert_no_turn_lost_or_duplicated(result)
