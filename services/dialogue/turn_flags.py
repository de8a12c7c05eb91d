"""The flag values one turn is answered under, read for its user (sticky per user across replicas and
services, so a user stays in one A/B arm).

A value the helpdesk does not know (a typo in the configuration store) counts as the flag's default,
the same as an absent flag: a turn is never failed over a flag. So does a prompt, model or arm name
longer than `MAX_NAME_CHARS`, which the answer's variant could not record.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from openfeature.client import OpenFeatureClient
from openfeature.evaluation_context import EvaluationContext

from helpdesk.events import MAX_VARIANT_CHARS
from helpdesk.flags import Flag


class AnswerSource(StrEnum):
    """Who writes answers (the `answer_mode` flag)."""

    FAQ = "faq"
    """The FAQ entry the policy chose, as written."""
    LLM = "llm"
    """The model, from the retrieved entries, when an endpoint is configured."""
    FAQ_MODEL_CHOICE = "faq_model_choice"
    """The FAQ entry as written, always; where the policy would ask which entry is meant, the model
    first picks the one offered entry that answers the question (if any), and that entry's answer is
    given as written. For operators who need the curated wording (legal, HR) but fewer "which one?"
    questions."""

    @property
    def asks_the_model(self) -> bool:
        return self is not AnswerSource.FAQ


class BudgetExhausted(StrEnum):
    """What a user over their token budget gets (the `budget_exhausted` flag)."""

    FAQ_ONLY = "faq_only"
    """The FAQ answer, with a note that the AI allowance is spent."""
    REJECT = "reject"
    """A refusal (`Refusal.BUDGET`), which an HTTP caller sees as 429."""


PROMPT_DEFAULT = "grounded"
MODEL_DEFAULT = "gpt-4o-mini"
ARM_DEFAULT = "default"
MAX_NAME_CHARS = MAX_VARIANT_CHARS // 2
"""A prompt id, a model or an arm name, as the flags may give it: the variant records the prompt as
`id@version`, so half the variant's bound leaves the version all the room it needs."""


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


def _name(value: str, default: str) -> str:
    return value if len(value) <= MAX_NAME_CHARS else default


class TurnFlags:
    def __init__(self, flags: OpenFeatureClient) -> None:
        self._flags = flags

    def handoff_enabled(self, user_id: str) -> bool:
        context = EvaluationContext(targeting_key=user_id)
        return bool(self._flags.get_boolean_value(Flag.HANDOFF.value, True, context))

    def answering(self, user_id: str) -> FlagValues:
        """This user's values. The model matters only when the model is asked, and the budget behaviour
        only when it writes answers: otherwise they are not evaluated (a choice over budget is simply
        the clarification)."""
        flags = self._flags
        context = EvaluationContext(targeting_key=user_id)
        details = flags.get_string_details(Flag.PROMPT_VARIANT.value, PROMPT_DEFAULT, context)
        name, prompt = (
            _name(details.variant or ARM_DEFAULT, ARM_DEFAULT),
            _name(details.value, PROMPT_DEFAULT),
        )
        source = _choice(
            AnswerSource,
            flags.get_string_value(Flag.ANSWER_MODE.value, AnswerSource.FAQ.value, context),
            AnswerSource.FAQ,
        )
        if not source.asks_the_model:
            return FlagValues(source, name, prompt, MODEL_DEFAULT, BudgetExhausted.FAQ_ONLY)
        model = _name(flags.get_string_value(Flag.MODEL.value, MODEL_DEFAULT, context), MODEL_DEFAULT)
        if source is not AnswerSource.LLM:
            return FlagValues(source, name, prompt, model, BudgetExhausted.FAQ_ONLY)
        budget = flags.get_string_value(
            Flag.BUDGET_EXHAUSTED_BEHAVIOUR.value, BudgetExhausted.FAQ_ONLY.value, context
        )
        return FlagValues(
            answer_source=source,
            arm=name,
            prompt=prompt,
            model=model,
            budget_exhausted=_choice(BudgetExhausted, budget, BudgetExhausted.FAQ_ONLY),
        )
