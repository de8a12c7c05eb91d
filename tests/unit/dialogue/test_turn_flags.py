"""The answer_mode flag as dialogue reads it per user: faq, llm, faq_model_choice; anything else is faq."""

from __future__ import annotations

import pytest

from helpdesk.flags import FlagDefinition
from helpdesk.memory_ports import memory_runtime
from helpdesk.runtime import flag_defaults
from helpdesk.settings import ServiceSettings
from services.dialogue.turn_flags import MODEL_DEFAULT, AnswerSource, BudgetExhausted, TurnFlags


def answering(**values: str) -> TurnFlags:
    flags = flag_defaults(ServiceSettings()) | {name: FlagDefinition(value=v) for name, v in values.items()}
    return TurnFlags(memory_runtime("dialogue", flags=flags).flags)


@pytest.mark.parametrize(
    ("value", "source"),
    [
        ("faq", AnswerSource.FAQ),
        ("llm", AnswerSource.LLM),
        ("faq_model_choice", AnswerSource.FAQ_MODEL_CHOICE),
        ("faq-model-choice", AnswerSource.FAQ),
        ("FAQ_MODEL_CHOICE", AnswerSource.FAQ),
        ("model_choice", AnswerSource.FAQ),
    ],
)
def test_answer_mode_values(value: str, source: AnswerSource) -> None:
    assert answering(answer_mode=value).answering("user-1").answer_source is source


def test_the_model_flag_applies_to_model_choice_and_the_budget_flag_does_not() -> None:
    values = answering(answer_mode="faq_model_choice", model="gpt-4.1-mini", budget_exhausted="reject")
    read = values.answering("user-1")
    assert read.model == "gpt-4.1-mini"
    assert read.budget_exhausted is BudgetExhausted.FAQ_ONLY


def test_in_faq_mode_the_model_flag_is_not_read() -> None:
    assert answering(answer_mode="faq", model="gpt-4.1-mini").answering("user-1").model == MODEL_DEFAULT
