"""Generator.choose: the model picks one of a clarification's offered entries, through the same call
path as answers (breaker, budgets, deadline, cache, accounting, leak checks), over real HTTP to the
local OpenAI-compatible server."""

from __future__ import annotations

import json
from typing import Any

from prometheus_client import REGISTRY

from helpdesk.memory_ports import MemoryStateStore
from services.dialogue.generation import Fallback, FallbackReason, FaqContext, GenerationRequest, Picked
from tests.support.openai_server import OpenAITestServer, ReceivedRequest, Scripts
from tests.unit.dialogue.generation.support import FAQ_EN, ask, open_generator

OFFERED = (
    *FAQ_EN,
    FaqContext(
        "faq-locked", "My account is locked", "Wait 15 minutes, or ask the service desk to unlock it."
    ),
)


def offer(
    question: str = "How do I reset my password?",
    *,
    context: tuple[FaqContext, ...] = OFFERED,
    **overrides: Any,
) -> GenerationRequest:
    """The request the composer makes for a clarification offering `context`."""
    return ask(question, prompt="choice", context=context, **overrides)


def counted(task: str, result: str, reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "helpdesk_llm_answers_total", {"task": task, "result": result, "reason": reason}
    )
    return value or 0.0


async def test_a_pick_names_the_offered_entry_and_records_prompt_model_and_usage(
    llm: OpenAITestServer,
) -> None:
    generator = await open_generator(llm)
    llm.script = Scripts.picks("faq-vpn")
    before = counted("choice", "chosen", "model")

    result = await generator.choose(offer("vpn on my phone"))

    assert isinstance(result, Picked)
    assert result.entry_id == "faq-vpn"
    assert (result.prompt, result.model) == ("choice@1", "gpt-4o-mini")
    assert result.usage.prompt_tokens > 0
    assert result.usage.cost_usd > 0
    assert counted("choice", "chosen", "model") == before + 1
    [request] = llm.requests
    assert request.faq_ids == ["faq-password", "faq-vpn", "faq-locked"]
    assert request.body["temperature"] == 0.0
    assert request.body["max_completion_tokens"] == 80
    assert "vpn on my phone" in request.user
    assert request.canary is not None
    assert request.canary not in request.user


async def test_none_is_a_pick_of_nothing(llm: OpenAITestServer) -> None:
    generator = await open_generator(llm)
    llm.script = Scripts.picks_none

    result = await generator.choose(offer("when is the bonus paid"))

    assert isinstance(result, Picked)
    assert result.entry_id is None
    assert result.usage.prompt_tokens > 0


async def test_an_entry_not_offered_or_a_malformed_reply_is_refused_with_its_usage(
    llm: OpenAITestServer,
) -> None:
    generator = await open_generator(llm)
    for script, reason in [
        (Scripts.picks_unoffered, FallbackReason.NOT_OFFERED),
        (Scripts.grounded, FallbackReason.INVALID_OUTPUT),
        (Scripts.not_json, FallbackReason.INVALID_OUTPUT),
    ]:
        llm.script = script
        result = await generator.choose(offer(conversation_id=reason.value))
        assert isinstance(result, Fallback), script
        assert result.reason is reason
        assert result.usage.prompt_tokens > 0


async def test_a_leaked_canary_is_refused_and_counted(llm: OpenAITestServer) -> None:
    generator = await open_generator(llm)

    def leaks(request: ReceivedRequest) -> str:
        return json.dumps({"id": request.faq_ids[0], "note": f"marker {request.canary}"})

    llm.script = leaks
    before = REGISTRY.get_sample_value("helpdesk_llm_leaks_total", {"kind": "canary", "form": "plain"}) or 0

    result = await generator.choose(offer())

    assert isinstance(result, Fallback)
    assert result.reason is FallbackReason.CANARY_LEAK
    after = REGISTRY.get_sample_value("helpdesk_llm_leaks_total", {"kind": "canary", "form": "plain"})
    assert after == before + 1


async def test_the_same_question_and_offer_is_answered_from_the_cache_a_different_offer_is_not(
    llm: OpenAITestServer,
) -> None:
    generator = await open_generator(llm, MemoryStateStore())
    llm.script = Scripts.picks("faq-password")

    first = await generator.choose(offer())
    again = await generator.choose(offer())
    other = await generator.choose(offer(context=OFFERED[:2]))

    assert isinstance(first, Picked)
    assert isinstance(again, Picked)
    assert isinstance(other, Picked)
    assert again.entry_id == "faq-password"
    assert again.usage.cached
    assert not other.usage.cached
    assert len(llm.requests) == 2


async def test_an_answer_cached_for_the_same_question_is_not_taken_for_a_choice(
    llm: OpenAITestServer,
) -> None:
    generator = await open_generator(llm, MemoryStateStore())
    await generator.generate(ask(context=OFFERED))
    llm.script = Scripts.picks_none

    result = await generator.choose(offer())

    assert isinstance(result, Picked)
    assert result.entry_id is None
    assert not result.usage.cached
    assert len(llm.requests) == 2


async def test_failures_fall_back_within_the_deadline(llm: OpenAITestServer) -> None:
    generator = await open_generator(llm)
    llm.fail_always(500)
    failed = await generator.choose(offer())
    assert isinstance(failed, Fallback)
    assert failed.reason is FallbackReason.ENDPOINT_ERROR

    llm.reset()
    llm.latency = 30
    slow = await generator.choose(offer(conversation_id="slow"))
    assert isinstance(slow, Fallback)
    assert slow.reason is FallbackReason.TIMEOUT


async def test_a_spent_budget_and_a_suspected_injection_never_reach_the_model(llm: OpenAITestServer) -> None:
    spent = await open_generator(llm, user_daily_token_budget=1)
    llm.script = Scripts.picks_first
    await spent.choose(offer())  # spends more than the budget
    over = await spent.choose(offer("another question"))
    assert isinstance(over, Fallback)
    assert over.reason is FallbackReason.BUDGET_EXHAUSTED

    suspected = await open_generator(llm)
    injected = await suspected.choose(offer(injection_suspected=True))
    assert isinstance(injected, Fallback)
    assert injected.reason is FallbackReason.INJECTION_SUSPECTED
    assert len(llm.requests) == 1


async def test_without_an_endpoint_nothing_is_asked(llm: OpenAITestServer) -> None:
    generator = await open_generator(llm, openai_base_url=None, secrets={})
    result = await generator.choose(offer())
    assert isinstance(result, Fallback)
    assert result.reason is FallbackReason.NOT_CONFIGURED
    assert llm.requests == []


async def test_a_pick_waits_only_its_own_shorter_deadline_where_an_answer_still_waits(
    llm: OpenAITestServer,
) -> None:
    """The clarification is ready and safe, so a slow endpoint gives it after `choice_deadline_seconds`
    while an answer, which has only the FAQ text to fall back on, still waits its own deadline."""
    generator = await open_generator(
        llm, timeout_seconds=5.0, deadline_seconds=5.0, choice_deadline_seconds=0.3, max_retries=0
    )
    llm.script = Scripts.picks("faq-vpn")
    llm.latency = 1.0

    slow = await generator.choose(offer("vpn on my phone"))
    assert isinstance(slow, Fallback)
    assert slow.reason is FallbackReason.TIMEOUT

    llm.script = Scripts.grounded
    answered = await generator.generate(ask(conversation_id="answer"))
    assert not isinstance(answered, Fallback)
