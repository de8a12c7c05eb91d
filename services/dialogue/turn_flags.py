"""The flag values one turn is answered under, read for its user (sticky per user across replicas and
services, so a user stays in one A/B arm).

A value the helpdesk does not know (a typo in the configuration store) counts as the flag's default,
the same as an absent flag: a turn is never failed over a flag.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from openfeature.client import OpenFeatureClient
from openfeature.evaluation_context import EvaluationContext

from helpdesk.flags import Flag


class AnswerSource(StrEnum):
    """Who writes answers (the `answer_mode` flag)."""

    FAQ = "faq"
    """The FAQ entry the policy chose, as written."""
    LLM = "llm"
    """The model, from the retrieved entries, when an endpoint is configured."""


class BudgetExhausted(StrEnum):
    """What a user over their token budget gets (the `budget_exhausted` flag)."""

    FAQ_ONLY = "faq_only"
    """The FAQ answer, with a note that the AI allowance is spent."""
    REJECT = "reject"
    """A refusal (`Refusal.BUDGET`), which an HTTP caller sees as 429."""


PROMPT_DEFAULT = "grounded"
MODEL_DEFAULT = "gpt-4o-mini"


@dataclass(frozen=True, slots=True)
class FlagValues:
    answer_source: AnswerSource
    arm: str
    """The user's prompt_variant arm (variant name)."""
    prompt: str
    """The arm's value: a prompt id."""
    model: str
    budget_exhausted: BudgetExhausted


E = TypeVar("E", bound=StrEnum)


def _choice(kind: type[E], value: str, default: E) -> E:
    try:
        return kind(value)
    except ValueError:
        return default


class TurnFlags:
    def __init__(self, flags: OpenFeatureClient) -> None:
        self._flags = flags

    def handoff_enabled(self, user_id: str) -> bool:
        context = EvaluationContext(targeting_key=user_id)
        return bool(self._flags.get_boolean_value(Flag.HANDOFF.value, True, context))

    def answering(self, user_id: str) -> FlagValues:
        """This user's values. The model and the budget behaviour matter only when the model answers:
        otherwise they are not evaluated."""
        flags = self._flags
        context = EvaluationContext(targeting_key=user_id)
        arm = flags.get_string_details(Flag.PROMPT_VARIANT.value, PROMPT_DEFAULT, context)
        source = _choice(
            AnswerSource,
            flags.get_string_value(Flag.ANSWER_MODE.value, AnswerSource.FAQ.value, context),
            AnswerSource.FAQ,
        )
        if source is not AnswerSource.LLM:
            return FlagValues(
                source, arm.variant or "default", arm.value, MODEL_DEFAULT, BudgetExhausted.FAQ_ONLY
            )
        budget = flags.get_string_value(
            Flag.BUDGET_EXHAUSTED_BEHAVIOUR.value, BudgetExhausted.FAQ_ONLY.value, context
        )
        return FlagValues(
            answer_source=source,
            arm=arm.variant or "default",
            prompt=arm.value,
            model=flags.get_string_value(Flag.MODEL.value, MODEL_DEFAULT, context),
            budget_exhausted=_choice(BudgetExhausted, budget, BudgetExhausted.FAQ_ONLY),
        )
