"""Answer generation with the shared model stack (`helpdesk.llm`): grounded in retrieved FAQ entries,
cited, cached, budgeted, and always replaceable by the FAQ answer (see `generator` for the contract)."""

from services.dialogue.generation.answer_prompts import AnswerPrompt, FaqContext, load_answer_prompts
from services.dialogue.generation.generator import (
    Fallback,
    FallbackReason,
    Generated,
    GenerationRequest,
    Generator,
    Result,
)
from services.dialogue.generation.settings import GenerationSettings

__all__ = [
    "AnswerPrompt",
    "Fallback",
    "FallbackReason",
    "FaqContext",
    "Generated",
    "GenerationRequest",
    "GenerationSettings",
    "Generator",
    "Result",
    "load_answer_prompts",
]
