"""The shared model stack over real HTTP (the local OpenAI-compatible server) and its retry guarantee:
bounded attempts, the server's Retry-After honoured, nothing past the deadline, timeouts never retried."""

from __future__ import annotations

import asyncio
import time

import pytest

from helpdesk.llm.openai_adapter import OpenAIChatModel, azure_model, openai_model
from helpdesk.llm.port import CallOutcome, EndpointFailed, pin
from helpdesk.llm.retries import BoundedRetries, retry_after_seconds
from helpdesk.llm.settings import ModelSettings
from tests.support.openai_server import OpenAITestServer

MARGIN = 3.0
"""Seconds of slack over a deadline for a busy two-core machine."""

FAST = {
    "timeout_seconds": 1.0,
    "connect_timeout_seconds": 0.5,
    "max_retries": 2,
    "backoff_initial_seconds": 0.05,
    "backoff_max_seconds": 0.2,
    "min_attempt_seconds": 0.1,
}


def model_for(server: OpenAITestServer, **overrides: object) -> OpenAIChatModel:
    return openai_model(
        ModelSettings.model_validate({"openai_base_url": server.base_url, **FAST, **overrides}), "sk-test"
    )


async def test_a_pinned_model_sends_one_system_and_one_user_message_under_its_name(
    llm: OpenAITestServer,
) -> None:
    llm.script = lambda _: '{"groundedness": 3}'
    llm.prompt_tokens, llm.completion_tokens = 900, 40
    chat = model_for(llm)
    judge = pin(chat, "gpt-4o-mini", timeout_seconds=5.0)

    completion = await judge.complete("You are a reviewer.", "Score this.", temperature=0.0, max_tokens=300)

    await chat.close()
    request = llm.requests[-1]
    assert judge.name == "gpt-4o-mini"
    assert completion.text == '{"groundedness": 3}'
    assert (completion.prompt_tokens, completion.completion_tokens) == (900, 40)
    assert (request.system, request.user) == ("You are a reviewer.", "Score this.")
    assert request.body["model"] == "gpt-4o-mini"
    assert request.body["max_completion_tokens"] == 300
    assert request.body["response_format"] == {"type": "json_object"}
    assert request.headers["authorization"] == "Bearer sk-test"


async def test_json_mode_can_be_switched_off_for_servers_without_it(llm: OpenAITestServer) -> None:
    chat = model_for(llm, json_mode=False)
    await pin(chat, "gpt-4o-mini", 5.0).complete("s", "u", temperature=0.0, max_tokens=10)
    await chat.close()
    assert "response_format" not in llm.requests[-1].body


async def test_on_azure_the_model_name_is_mapped_to_its_deployment(llm: OpenAITestServer) -> None:
    settings = ModelSettings.model_validate(
        {"azure_endpoint": llm.azure_endpoint, "azure_deployments": {"gpt-4o-mini": "helpdesk-chat"}, **FAST}
    )
    chat = azure_model(settings, "az-key")

    await pin(chat, "gpt-4o-mini", 5.0).complete("s", "u", temperature=0.0, max_tokens=10)
    await pin(chat, "gpt-4o", 5.0).complete("s", "u", temperature=0.0, max_tokens=10)

    await chat.close()
    assert [r.deployment for r in llm.requests] == ["helpdesk-chat", "gpt-4o"]
    assert llm.requests[0].query["api-version"] == settings.azure_api_version
    assert llm.requests[0].headers["api-key"] == "az-key"


async def test_throttling_is_retried_after_the_servers_wait_then_answered(llm: OpenAITestServer) -> None:
    llm.fail_next(429, times=1, retry_after=0.4)
    chat = model_for(llm)
    started = time.monotonic()

    await pin(chat, "gpt-4o-mini", 5.0).complete("s", "u", temperature=0.0, max_tokens=10)

    await chat.close()
    assert len(llm.requests) == 2
    assert llm.requests[1].received_at - llm.requests[0].received_at >= 0.35
    assert time.monotonic() - started < 5.0 + MARGIN


async def test_a_slow_endpoint_fails_by_the_deadline_with_one_attempt(llm: OpenAITestServer) -> None:
    llm.latency = 30.0
    chat = model_for(llm)
    started = time.monotonic()

    with pytest.raises(EndpointFailed) as failed:
        await pin(chat, "gpt-4o-mini", timeout_seconds=2.0).complete("s", "u", temperature=0.0, max_tokens=10)

    await chat.close()
    assert failed.value.outcome is CallOutcome.TIMEOUT
    assert time.monotonic() - started < 2.0 + MARGIN
    assert len(llm.requests) == 1


async def test_a_broken_endpoint_gets_a_bounded_number_of_attempts(llm: OpenAITestServer) -> None:
    llm.fail_always(500)
    chat = model_for(llm)

    with pytest.raises(EndpointFailed) as failed:
        await pin(chat, "gpt-4o-mini", 5.0).complete("s", "u", temperature=0.0, max_tokens=10)

    await chat.close()
    assert failed.value.outcome is CallOutcome.SERVER_ERROR
    assert len(llm.requests) == 1 + FAST["max_retries"]


class Throttled(Exception):
    def __init__(self, retry_after: str | None = None) -> None:
        self.response = type(
            "Response", (), {"headers": {"retry-after": retry_after} if retry_after else {}}
        )()


def retries(max_retries: int = 2) -> BoundedRetries:
    return BoundedRetries(
        max_retries=max_retries,
        backoff_initial_seconds=0.01,
        backoff_max_seconds=0.05,
        min_attempt_seconds=0.1,
    )


async def test_retries_stop_after_the_bound_and_re_raise_the_last_error() -> None:
    attempts: list[int] = []

    async def attempt() -> str:
        attempts.append(1)
        raise Throttled()

    with pytest.raises(Throttled):
        await retries(2).run(attempt, deadline=time.monotonic() + 5, retryable=lambda e: True)
    assert len(attempts) == 3


async def test_an_error_that_is_not_retryable_is_raised_at_once() -> None:
    attempts: list[int] = []

    async def attempt() -> str:
        attempts.append(1)
        raise ValueError("bad request")

    with pytest.raises(ValueError, match="bad request"):
        await retries().run(
            attempt, deadline=time.monotonic() + 5, retryable=lambda e: isinstance(e, Throttled)
        )
    assert len(attempts) == 1


async def test_a_wait_that_would_overrun_the_deadline_is_not_slept() -> None:
    attempts: list[int] = []

    async def attempt() -> str:
        attempts.append(1)
        raise Throttled(retry_after="30")

    started = time.monotonic()
    with pytest.raises(Throttled):
        await retries().run(attempt, deadline=time.monotonic() + 1.0, retryable=lambda e: True)
    assert len(attempts) == 1
    assert time.monotonic() - started < 1.0


async def test_nothing_runs_past_the_deadline_and_no_time_left_means_no_attempt() -> None:
    async def hangs() -> str:
        await asyncio.sleep(30)
        return "late"

    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await retries().run(hangs, deadline=time.monotonic() + 0.3, retryable=lambda e: True)
    assert time.monotonic() - started < 0.3 + MARGIN

    with pytest.raises(TimeoutError):
        await retries().run(hangs, deadline=time.monotonic() - 1, retryable=lambda e: True)


async def test_the_first_success_is_returned() -> None:
    results = iter([Throttled(), "answer"])

    async def attempt() -> str:
        result = next(results)
        if isinstance(result, Exception):
            raise result
        return result

    assert await retries().run(attempt, deadline=time.monotonic() + 5, retryable=lambda e: True) == "answer"


def test_retry_after_headers_in_seconds_milliseconds_and_dates() -> None:
    class Response:
        def __init__(self, headers: dict[str, str]) -> None:
            self.headers = headers

    class Failure(Exception):
        def __init__(self, headers: dict[str, str]) -> None:
            self.response = Response(headers)

    assert retry_after_seconds(Failure({"retry-after": "3"})) == 3.0
    assert retry_after_seconds(Failure({"retry-after-ms": "250", "retry-after": "9"})) == 0.25
    assert retry_after_seconds(Failure({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert retry_after_seconds(Failure({"retry-after": "soon"})) is None
    assert retry_after_seconds(Failure({})) is None
    assert retry_after_seconds(ValueError()) is None
