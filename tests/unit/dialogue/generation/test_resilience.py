"""A slow, throttled, failing or absent endpoint never costs the user their answer.

Only upper bounds against the configured deadline are asserted (with a margin for a loaded machine),
and lower bounds where the helpdesk itself must wait (Retry-After): never how fast things are.
"""

from __future__ import annotations

import asyncio
import socket
import time

from helpdesk.events import Language
from helpdesk.llm.openai_adapter import OpenAIChatModel
from services.dialogue.generation import Fallback, FallbackReason, Generated
from tests.support.openai_server import OpenAITestServer
from tests.unit.dialogue.generation.support import FAST, ask, open_generator

MARGIN = 3.0
"""Seconds of slack over the deadline for a busy two-core machine; the slow endpoint takes 30."""


async def test_a_30_second_endpoint_gives_the_faq_answer_within_the_deadline_with_one_call(
    llm: OpenAITestServer,
) -> None:
    generator = await open_generator(llm)
    llm.latency = 30.0
    started = time.monotonic()

    result = await generator.generate(ask())

    elapsed = time.monotonic() - started
    assert isinstance(result, Fallback)
    assert result.reason is FallbackReason.TIMEOUT
    assert elapsed < FAST["deadline_seconds"] + MARGIN
    assert len(llm.requests) == 1, "a timed-out call is never repeated"


async def test_the_client_timeout_is_explicit_and_the_sdk_does_not_retry(llm: OpenAITestServer) -> None:
    generator = await open_generator(llm)

    assert isinstance(generator.model, OpenAIChatModel)
    client = generator.model.client
    assert client.max_retries == 0
    assert client.timeout.read == FAST["timeout_seconds"]  # type: ignore[union-attr]
    assert client.timeout.connect == FAST["connect_timeout_seconds"]  # type: ignore[union-attr]


async def test_the_deadline_bounds_retries_of_a_slow_endpoint_too(llm: OpenAITestServer) -> None:
    """Per-attempt timeouts shrink to what is left of the deadline, so 500s that come slowly end in time."""
    generator = await open_generator(llm, timeout_seconds=2.0, deadline_seconds=2.0)
    llm.latency = 0.7
    llm.fail_always(500)
    started = time.monotonic()

    result = await generator.generate(ask())

    assert isinstance(result, Fallback)
    assert time.monotonic() - started < 2.0 + MARGIN
    assert len(llm.requests) <= 1 + FAST["max_retries"]


async def test_a_429_with_retry_after_is_honoured_then_answered(llm: OpenAITestServer) -> None:
    generator = await open_generator(llm)
    llm.fail_next(429, times=1, retry_after=0.4)

    result = await generator.generate(ask())

    assert isinstance(result, Generated)
    first, second = llm.requests
    assert second.received_at - first.received_at >= 0.4 - 0.01


async def test_persistent_429s_end_in_the_faq_answer_after_bounded_retries(llm: OpenAITestServer) -> None:
    generator = await open_generator(llm)
    llm.fail_always(429, retry_after=0.1)

    result = await generator.generate(ask())

    assert isinstance(result, Fallback)
    assert result.reason is FallbackReason.RATE_LIMITED
    assert len(llm.requests) == 1 + FAST["max_retries"], "no retry storm"
    gaps = [b.received_at - a.received_at for a, b in zip(llm.requests, llm.requests[1:], strict=False)]
    assert all(gap >= 0.1 - 0.01 for gap in gaps)


async def test_a_retry_after_beyond_the_deadline_gives_up_at_once(llm: OpenAITestServer) -> None:
    generator = await open_generator(llm)
    llm.fail_always(429, retry_after=60)
    started = time.monotonic()

    result = await generator.generate(ask())

    assert isinstance(result, Fallback)
    assert result.reason is FallbackReason.RATE_LIMITED
    assert len(llm.requests) == 1
    assert time.monotonic() - started < FAST["deadline_seconds"] + MARGIN


async def test_persistent_500s_are_retried_a_bounded_number_of_times(llm: OpenAITestServer) -> None:
    generator = await open_generator(llm)
    llm.fail_always(500)

    result = await generator.generate(ask())

    assert isinstance(result, Fallback)
    assert result.reason is FallbackReason.ENDPOINT_ERROR
    assert len(llm.requests) == 1 + FAST["max_retries"]


async def test_a_transient_500_is_retried_and_answered(llm: OpenAITestServer) -> None:
    generator = await open_generator(llm)
    llm.fail_next(503)

    result = await generator.generate(ask())

    assert isinstance(result, Generated)
    assert len(llm.requests) == 2


async def test_a_spent_quota_is_not_retried(llm: OpenAITestServer) -> None:
    generator = await open_generator(llm)
    llm.fail_next(429, times=5, code="insufficient_quota")

    result = await generator.generate(ask())

    assert isinstance(result, Fallback)
    assert len(llm.requests) == 1


async def test_a_client_error_is_not_retried(llm: OpenAITestServer) -> None:
    generator = await open_generator(llm)
    llm.fail_next(400, times=5)

    result = await generator.generate(ask())

    assert isinstance(result, Fallback)
    assert result.reason is FallbackReason.ENDPOINT_ERROR
    assert len(llm.requests) == 1


async def test_an_endpoint_that_is_down_gives_the_faq_answer_within_the_deadline(
    llm: OpenAITestServer,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    generator = await open_generator(llm, openai_base_url=f"http://127.0.0.1:{closed_port}/v1")
    started = time.monotonic()

    result = await generator.generate(ask())

    assert isinstance(result, Fallback)
    assert result.reason is FallbackReason.ENDPOINT_ERROR
    assert time.monotonic() - started < FAST["deadline_seconds"] + MARGIN


async def test_the_breaker_opens_after_repeated_failures_and_stops_calling(llm: OpenAITestServer) -> None:
    generator = await open_generator(llm, max_retries=0)
    llm.fail_always(500)
    for n in range(FAST["breaker_failure_threshold"]):
        result = await generator.generate(ask(f"question {n}"))
        assert isinstance(result, Fallback)
        assert result.reason is FallbackReason.ENDPOINT_ERROR
    calls = len(llm.requests)

    result = await generator.generate(ask("one more"))

    assert isinstance(result, Fallback)
    assert result.reason is FallbackReason.BREAKER_OPEN
    assert len(llm.requests) == calls, "an open circuit makes no call"
    assert generator.breaker.state == "opened"


async def test_the_breaker_half_opens_later_and_closes_on_success(llm: OpenAITestServer) -> None:
    generator = await open_generator(llm, max_retries=0)
    llm.fail_always(500)
    for n in range(FAST["breaker_failure_threshold"]):
        await generator.generate(ask(f"question {n}"))
    llm.reset()
    await asyncio.sleep(FAST["breaker_reset_seconds"] + 0.1)

    result = await generator.generate(ask("after recovery"))

    assert isinstance(result, Generated)
    assert len(llm.requests) == 1
    assert generator.breaker.state == "closed"


async def test_a_failed_trial_call_opens_the_breaker_again(llm: OpenAITestServer) -> None:
    generator = await open_generator(llm, max_retries=0)
    llm.fail_always(500)
    for n in range(FAST["breaker_failure_threshold"]):
        await generator.generate(ask(f"question {n}"))
    await asyncio.sleep(FAST["breaker_reset_seconds"] + 0.1)
    calls = len(llm.requests)

    trial = await generator.generate(ask("trial"))
    after = await generator.generate(ask("after the trial"))

    assert isinstance(trial, Fallback)
    assert trial.reason is FallbackReason.ENDPOINT_ERROR
    assert len(llm.requests) == calls + 1
    assert isinstance(after, Fallback)
    assert after.reason is FallbackReason.BREAKER_OPEN


async def test_refused_content_does_not_count_against_the_endpoint(llm: OpenAITestServer) -> None:
    from tests.support.openai_server import Scripts

    generator = await open_generator(llm)
    llm.script = Scripts.cites_unknown
    for n in range(FAST["breaker_failure_threshold"] + 1):
        await generator.generate(ask(f"question {n}", language=Language.EN))

    assert generator.breaker.state == "closed"
    assert len(llm.requests) == FAST["breaker_failure_threshold"] + 1
