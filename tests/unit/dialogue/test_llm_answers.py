"""dialogue with the model switched on (flag answer_mode=llm) against the local OpenAI-compatible
server over real HTTP: grounded answers with validated citations, FAQ fallback on every failure, the
user's A/B arm and usage recorded, budget exhaustion by flag."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from helpdesk.events import AnswerMode, ChatAnswered, Refusal
from helpdesk.flags import FlagDefinition
from helpdesk.llm.settings import ModelSettings
from helpdesk.memory_ports import MemoryBus, MemoryStateStore, memory_runtime
from helpdesk.runtime import flag_defaults
from helpdesk.settings import ServiceSettings
from services.dialogue.app import create_app
from services.dialogue.generation.settings import GenerationSettings
from services.dialogue.settings import DialogueSettings
from tests.support.openai_server import OpenAITestServer, Scripts
from tests.unit.dialogue.test_handlers import TOKEN, DialogueUnderTest


def llm_dialogue(server: OpenAITestServer, **flags: object) -> Iterator[DialogueUnderTest]:
    server.reset()
    definitions = flag_defaults(ServiceSettings()) | {"answer_mode": FlagDefinition(value="llm")}
    definitions |= {name: FlagDefinition(value=value) for name, value in flags.items()}
    runtime = memory_runtime("dialogue", flags=definitions, secrets={"openai-api-key": "sk-test"})
    settings = DialogueSettings(
        app_api_token=SecretStr(TOKEN),
        knowledge_refresh_seconds=0,
        llm=ModelSettings(openai_base_url=server.base_url, timeout_seconds=1.0, max_retries=1),
        generation=GenerationSettings(deadline_seconds=3.0),
    )
    assert isinstance(runtime.bus, MemoryBus)
    assert isinstance(runtime.state, MemoryStateStore)
    with TestClient(create_app(settings, runtime)) as client:
        yield DialogueUnderTest(client, runtime.bus, runtime.state)


@pytest.fixture
def dialogue(openai_server: OpenAITestServer) -> Iterator[DialogueUnderTest]:
    yield from llm_dialogue(openai_server)


def test_the_model_answers_with_citations_and_records_prompt_model_and_usage(
    dialogue: DialogueUnderTest, openai_server: OpenAITestServer
) -> None:
    answered = dialogue.ask("How do I reset my password?")
    assert isinstance(answered, ChatAnswered)
    assert answered.mode is AnswerMode.LLM
    assert answered.cited_faq_ids
    assert set(answered.cited_faq_ids) <= set(openai_server.requests[0].faq_ids)
    assert [c.faq_id for c in answered.citations] == answered.cited_faq_ids
    assert answered.variant.prompt.startswith(("grounded@", "grounded-concise@"))
    assert answered.variant.model == "gpt-4o-mini"
    assert answered.variant.name in ("grounded", "grounded-concise")
    assert answered.usage.prompt_tokens > 0
    assert len(openai_server.requests) == 1


def test_only_the_redacted_text_reaches_the_model(
    dialogue: DialogueUnderTest, openai_server: OpenAITestServer
) -> None:
    dialogue.ask(
        "My password for alice@example.com does not work",
        redacted_text="My password for [EMAIL] does not work",
    )
    sent = openai_server.requests[0].text
    assert "alice@example.com" not in sent
    assert "[EMAIL]" in sent


def test_an_endpoint_that_fails_gives_the_faq_answer_as_fallback(
    dialogue: DialogueUnderTest, openai_server: OpenAITestServer
) -> None:
    openai_server.fail_always(500)
    answered = dialogue.ask("How do I reset my password?")
    assert isinstance(answered, ChatAnswered)
    assert answered.mode is AnswerMode.FALLBACK
    assert answered.cited_faq_ids == ["it-password-reset"]
    assert len(openai_server.requests) == 2  # one retry, no storm


def test_unknown_citations_are_refused_and_the_faq_answer_given(
    dialogue: DialogueUnderTest, openai_server: OpenAITestServer
) -> None:
    openai_server.script = Scripts.cites_unknown
    answered = dialogue.ask("How do I reset my password?")
    assert isinstance(answered, ChatAnswered)
    assert answered.mode is AnswerMode.FALLBACK
    assert answered.cited_faq_ids == ["it-password-reset"]


def test_smalltalk_never_calls_the_model(
    dialogue: DialogueUnderTest, openai_server: OpenAITestServer
) -> None:
    answered = dialogue.ask("hello", intent="greeting", confidence=0.95)
    assert isinstance(answered, ChatAnswered)
    assert answered.mode is AnswerMode.SMALLTALK
    assert openai_server.requests == []


def test_faq_mode_records_the_users_arm_without_calling_the_model(openai_server: OpenAITestServer) -> None:
    for dialogue in llm_dialogue(openai_server, answer_mode="faq"):
        answered = dialogue.ask("How do I reset my password?")
        assert isinstance(answered, ChatAnswered)
        assert answered.mode is AnswerMode.FAQ
        assert answered.variant.name in ("grounded", "grounded-concise")
        assert openai_server.requests == []


@pytest.mark.parametrize(("behaviour", "refused"), [("faq_only", False), ("reject", True)])
def test_an_exhausted_budget_gives_a_marked_faq_answer_or_a_refusal_by_flag(
    openai_server: OpenAITestServer, behaviour: str, refused: bool
) -> None:
    import os

    os.environ["HELPDESK_GENERATION__USER_DAILY_TOKEN_BUDGET"] = "1"
    try:
        for dialogue in llm_dialogue(openai_server, budget_exhausted=behaviour):
            first = dialogue.ask("How do I reset my password?")  # spends more than the budget
            assert isinstance(first, ChatAnswered)
            second = dialogue.ask("Where can I see my payslip?")
            assert isinstance(second, ChatAnswered)
            assert second.mode is AnswerMode.FALLBACK
            assert len(openai_server.requests) == 1
            if refused:
                assert second.refusal is Refusal.BUDGET
                assert second.cited_faq_ids == []
            else:
                assert second.refusal is None
                assert second.cited_faq_ids
                assert "allowance" in second.answer
    finally:
        del os.environ["HELPDESK_GENERATION__USER_DAILY_TOKEN_BUDGET"]
