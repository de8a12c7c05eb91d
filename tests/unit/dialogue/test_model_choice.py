"""answer_mode faq_model_choice in the composer: a clarification the policy decided is shown to the model
(over real HTTP to the local OpenAI-compatible server) with the offered entries, and the entry it
picks is answered as written; anything else keeps the clarification exactly as decided."""

from __future__ import annotations

import uuid

import pytest

from helpdesk.events import AnswerMode, Language
from helpdesk.knowledge.entries import FaqEntry
from services.dialogue.composer import AnswerComposer, Composed
from services.dialogue.generation import Generator
from services.dialogue.knowledge.index import KnowledgeIndex
from services.dialogue.memory import ConversationMemory
from services.dialogue.policy import Answer, AnswerPolicy, Decision, DecisionReason, FixedKnowledge
from services.dialogue.turn_flags import AnswerSource, BudgetExhausted, FlagValues
from tests.support.openai_server import OpenAITestServer, Script, Scripts
from tests.unit.dialogue.conftest import analyzed
from tests.unit.dialogue.generation.support import open_generator

CHOOSING = FlagValues(
    AnswerSource.FAQ_MODEL_CHOICE, "default", "grounded", "gpt-4o-mini", BudgetExhausted.FAQ_ONLY
)


async def composed(
    generator: Generator, index: KnowledgeIndex, question: str, flags: FlagValues = CHOOSING
) -> tuple[Decision, Composed]:
    policy = AnswerPolicy(FixedKnowledge(index))
    event = analyzed(question, redacted_text=f"{question} [EMAIL]")
    memory = ConversationMemory(conversation_id=uuid.uuid4(), user_id="user-1")
    decision = policy.decide(event, memory)
    return decision, await AnswerComposer(generator, policy).compose(event, decision, flags, Language.EN)


def probability(decision: Decision, entry_id: str) -> float | None:
    """What the policy gave this hit."""
    assert decision.retrieval is not None
    return next(h.probability for h in decision.retrieval.hits if h.entry.id == entry_id)


def offered(decision: Decision) -> list[str]:
    assert isinstance(decision.outcome, Answer)
    return [c.faq_id for c in decision.outcome.choices]


async def test_the_entry_the_model_picks_is_answered_as_written(
    llm: OpenAITestServer, default_index: KnowledgeIndex
) -> None:
    llm.script = Scripts.picks_first  # the first entry as the prompt lists them: the likeliest choice
    decision, result = await composed(await open_generator(llm), default_index, "password")

    assert decision.reason is DecisionReason.CLARIFY
    [request] = llm.requests
    assert request.faq_ids == offered(decision)
    assert "password [EMAIL]" in request.user
    picked = offered(decision)[0]
    entry = default_index.get(picked)
    assert isinstance(entry, FaqEntry)
    answer = result.decision.outcome
    assert isinstance(answer, Answer)
    assert answer.text == entry.text(Language.EN).answer
    assert answer.mode is AnswerMode.FAQ
    assert answer.cited_faq_ids == (picked,)
    assert [c.faq_id for c in answer.citations] == [picked]
    assert answer.choices == ()
    assert answer.confidence == probability(decision, picked)
    assert result.decision.reason is DecisionReason.MODEL_CHOSEN
    assert result.decision.label == "model_chosen"
    assert result.decision.clarification is None
    assert result.decision.clarified is None, "no user picked it: nothing may learn a wording from it"
    assert (result.variant.prompt, result.variant.model, result.variant.name) == (
        "choice@1",
        "gpt-4o-mini",
        "default",
    )
    assert result.usage.prompt_tokens > 0
    assert result.refusal is None


async def test_a_pick_further_down_the_offer_is_answered_with_its_own_probability(
    llm: OpenAITestServer, default_index: KnowledgeIndex
) -> None:
    generator = await open_generator(llm)
    decision, _ = await composed(generator, default_index, "password")
    second = offered(decision)[1]
    llm.reset()
    llm.script = Scripts.picks(second)

    _, result = await composed(generator, default_index, "password")

    answer = result.decision.outcome
    assert isinstance(answer, Answer)
    assert answer.cited_faq_ids == (second,)
    assert answer.confidence == probability(decision, second)
    assert answer.confidence != probability(decision, offered(decision)[0])


@pytest.mark.parametrize(
    "script",
    [Scripts.picks_none, Scripts.picks_unoffered, Scripts.grounded, Scripts.not_json],
    ids=["none", "not-offered", "an-answer-instead", "not-json"],
)
async def test_no_valid_pick_keeps_the_clarification_as_decided(
    llm: OpenAITestServer, default_index: KnowledgeIndex, script: Script
) -> None:
    llm.script = script
    decision, result = await composed(await open_generator(llm), default_index, "password")

    assert len(llm.requests) == 1
    assert result.decision == decision
    assert result.decision.clarification is not None
    assert result.variant.prompt == "choice@1"
    assert result.usage.prompt_tokens > 0


@pytest.mark.parametrize("failure", ["500", "timeout", "budget", "offline"])
async def test_a_failed_or_refused_call_keeps_the_clarification_without_a_note(
    llm: OpenAITestServer, default_index: KnowledgeIndex, failure: str
) -> None:
    if failure == "500":
        llm.fail_always(500)
        generator = await open_generator(llm)
    elif failure == "timeout":
        llm.latency = 30
        generator = await open_generator(llm)
    elif failure == "budget":
        generator = await open_generator(llm, user_daily_token_budget=1)
        llm.script = Scripts.picks_none
        await composed(generator, default_index, "printer")  # spends more than the budget
    else:
        generator = await open_generator(llm, openai_base_url=None, secrets={})

    decision, result = await composed(generator, default_index, "password")

    assert result.decision == decision
    assert result.refusal is None
    outcome = result.decision.outcome
    assert isinstance(outcome, Answer)
    assert outcome.mode is AnswerMode.CLARIFY
    assert "allowance" not in outcome.text


async def test_a_question_answered_directly_or_small_talk_never_calls_the_model(
    llm: OpenAITestServer, default_index: KnowledgeIndex
) -> None:
    generator = await open_generator(llm)
    for question in ("How do I reset my password?", "hello"):
        decision, result = await composed(generator, default_index, question)
        assert decision.reason is not DecisionReason.CLARIFY
        assert result.decision == decision
    assert llm.requests == []


async def test_other_answer_modes_never_ask_for_a_pick(
    llm: OpenAITestServer, default_index: KnowledgeIndex
) -> None:
    generator = await open_generator(llm)
    faq = FlagValues(AnswerSource.FAQ, "default", "grounded", "gpt-4o-mini", BudgetExhausted.FAQ_ONLY)
    decision, result = await composed(generator, default_index, "password", faq)
    assert result.decision == decision
    assert llm.requests == []
