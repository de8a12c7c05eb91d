"""The response cache and the token budgets, on the state store port (in memory here, etags included)."""

from __future__ import annotations

import asyncio
from datetime import date

from prometheus_client import REGISTRY

from helpdesk.dapr.ports import SidecarUnavailable, Stored
from helpdesk.events import Language
from helpdesk.llm.prices import ModelPrice, PriceTable
from helpdesk.memory_ports import MemoryStateStore
from services.dialogue.generation import Fallback, FallbackReason, Generated
from services.dialogue.generation.budgets import TokenBudgets
from services.dialogue.generation.cache import cache_key
from tests.support.kept_for import KeptFor
from tests.support.openai_server import OpenAITestServer
from tests.unit.dialogue.generation.support import FAQ_EN, ask, open_generator


def cache_count(outcome: str) -> float:
    return REGISTRY.get_sample_value("helpdesk_llm_cache_total", {"outcome": outcome}) or 0.0


class InterleavingStore(MemoryStateStore):
    """Yields to other tasks between read and write, as a real store does, so etag conflicts happen."""

    async def get(self, key: str) -> Stored | None:
        await asyncio.sleep(0)
        return await super().get(key)


class BrokenStore(MemoryStateStore):
    async def get(self, key: str) -> Stored | None:
        raise SidecarUnavailable("state store down")


# --- cache -------------------------------------------------------------------------------------


async def test_the_same_question_is_answered_from_the_cache_without_a_model_call(
    llm: OpenAITestServer,
) -> None:
    generator = await open_generator(llm)
    hits, misses = cache_count("hit"), cache_count("miss")

    first = await generator.generate(ask("How do I reset my password?"))
    second = await generator.generate(ask("  how do I   RESET my password?", conversation_id="another"))

    assert isinstance(first, Generated)
    assert isinstance(second, Generated)
    assert second.usage.cached
    assert not first.usage.cached
    assert (second.text, second.cited_ids, second.prompt) == (first.text, first.cited_ids, first.prompt)
    assert second.usage.prompt_tokens == 0
    assert second.usage.cost_usd == 0
    assert len(llm.requests) == 1
    assert (cache_count("hit") - hits, cache_count("miss") - misses) == (1, 1)


async def test_a_new_kb_version_prompt_or_model_misses_the_cache(llm: OpenAITestServer) -> None:
    generator = await open_generator(llm)
    await generator.generate(ask())

    await generator.generate(ask(kb_version="kb-2"))
    await generator.generate(ask(prompt="grounded-concise"))
    await generator.generate(ask(model="gpt-4o"))
    await generator.generate(ask(context=FAQ_EN[:1]))

    assert len(llm.requests) == 5


async def test_cache_entries_expire_with_the_configured_ttl(llm: OpenAITestServer) -> None:
    store = KeptFor()
    generator = await open_generator(llm, store=store, cache_ttl_seconds=600)

    await generator.generate(ask())

    key = cache_key(
        "How do I reset my password?",
        Language.EN,
        "kb-1",
        "grounded@2",
        "gpt-4o-mini",
        ["faq-password", "faq-vpn"],
    )
    assert store.ttls[key] == 600


async def test_refused_answers_are_not_cached(llm: OpenAITestServer) -> None:
    from tests.support.openai_server import Scripts

    generator = await open_generator(llm)
    llm.script = Scripts.cites_unknown
    await generator.generate(ask())
    llm.script = Scripts.grounded

    result = await generator.generate(ask())

    assert isinstance(result, Generated)
    assert not result.usage.cached
    assert len(llm.requests) == 2


async def test_a_ttl_of_zero_disables_the_cache(llm: OpenAITestServer) -> None:
    generator = await open_generator(llm, cache_ttl_seconds=0)

    await generator.generate(ask())
    await generator.generate(ask())

    assert len(llm.requests) == 2


# --- budgets -----------------------------------------------------------------------------------


async def test_a_conversation_over_its_token_budget_gets_faq_answers_without_model_calls(
    llm: OpenAITestServer,
) -> None:
    generator = await open_generator(llm, conversation_token_budget=150, user_daily_token_budget=0)
    llm.prompt_tokens, llm.completion_tokens = 100, 50

    first = await generator.generate(ask("first question"))
    second = await generator.generate(ask("second question"))
    elsewhere = await generator.generate(ask("second question", conversation_id="conversation-2"))

    assert isinstance(first, Generated)
    assert isinstance(second, Fallback)
    assert second.reason is FallbackReason.BUDGET_EXHAUSTED
    assert isinstance(elsewhere, Generated)
    assert len(llm.requests) == 2


async def test_a_user_over_the_daily_budget_waits_for_the_next_utc_day(llm: OpenAITestServer) -> None:
    store = MemoryStateStore()
    generator = await open_generator(
        llm, store=store, conversation_token_budget=0, user_daily_token_budget=300
    )
    today = date(2026, 11, 22)
    generator.budgets.today = lambda: today
    llm.prompt_tokens, llm.completion_tokens = 100, 50

    answers = [await generator.generate(ask(f"q{n}", conversation_id=f"c{n}")) for n in range(3)]
    other_user = await generator.generate(ask("q3", user_id="user-2"))
    today = date(2026, 11, 23)
    next_day = await generator.generate(ask("q4"))

    assert [type(a).__name__ for a in answers] == ["Generated", "Generated", "Fallback"]
    assert isinstance(answers[2], Fallback)
    assert answers[2].reason is FallbackReason.BUDGET_EXHAUSTED
    assert isinstance(other_user, Generated)
    assert isinstance(next_day, Generated)


async def test_cache_hits_spend_no_budget(llm: OpenAITestServer) -> None:
    generator = await open_generator(llm, conversation_token_budget=150)
    llm.prompt_tokens, llm.completion_tokens = 100, 40

    await generator.generate(ask())
    again = await generator.generate(ask())
    check = await generator.budgets.check("user-1", "conversation-1")

    assert isinstance(again, Generated)
    assert again.usage.cached
    assert check.conversation_tokens == 140


async def test_concurrent_charges_on_several_tasks_lose_no_tokens() -> None:
    budgets = TokenBudgets(
        InterleavingStore(), per_conversation=0, per_user_daily=0, conversation_ttl_seconds=60
    )

    await asyncio.gather(*(budgets.charge("user-1", "conversation-1", 10) for _ in range(6)))
    check = await budgets.check("user-1", "conversation-1")

    assert (check.conversation_tokens, check.user_tokens_today) == (60, 60)


async def test_unreadable_budgets_mean_no_model_call(llm: OpenAITestServer) -> None:
    generator = await open_generator(llm, store=BrokenStore(), cache_ttl_seconds=0)

    result = await generator.generate(ask())

    assert isinstance(result, Fallback)
    assert result.reason is FallbackReason.BUDGET_UNAVAILABLE
    assert llm.requests == []


async def test_a_cache_outage_is_a_miss_not_a_failure(llm: OpenAITestServer) -> None:
    class CacheDown(MemoryStateStore):
        async def get(self, key: str) -> Stored | None:
            if key.startswith("llmcache:"):
                raise SidecarUnavailable("down")
            return await super().get(key)

    errors = cache_count("error")
    generator = await open_generator(llm, store=CacheDown())

    result = await generator.generate(ask())

    assert isinstance(result, Generated)
    assert cache_count("error") - errors == 1


# --- cost --------------------------------------------------------------------------------------


async def test_tokens_and_cost_per_answer_come_from_the_price_table(llm: OpenAITestServer) -> None:
    generator = await open_generator(llm)
    generator.prices = PriceTable(
        models={"gpt-4o-mini": ModelPrice(prompt_per_1k=0.5, completion_per_1k=2.0)}
    )
    llm.prompt_tokens, llm.completion_tokens = 1000, 500
    before = (
        REGISTRY.get_sample_value(
            "helpdesk_llm_cost_usd_total", {"model": "gpt-4o-mini", "prompt": "grounded@2"}
        )
        or 0.0
    )

    result = await generator.generate(ask())

    assert isinstance(result, Generated)
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (1000, 500)
    assert result.usage.cost_usd == 1.5
    after = REGISTRY.get_sample_value(
        "helpdesk_llm_cost_usd_total", {"model": "gpt-4o-mini", "prompt": "grounded@2"}
    )
    assert after == before + 1.5
