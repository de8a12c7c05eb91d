"""Answer generation with OpenAI / Azure OpenAI: grounded in retrieved FAQ entries, cited, cached,
budgeted, and always replaceable by the FAQ answer (see `generator` for the contract)."""

from services.dialogue.generation.generator import (
    Fallback,
    FallbackReason,
    Generated,
    GenerationRequest,
    Generator,
    Result,
)
from services.dialogue.generation.prompts import FaqContext, PromptLibrary
from services.dialogue.generation.settings import GenerationSettings

__all__ = [
    "Fallback",
    "FallbackReason",
    "FaqContext",
    "Generated",
    "GenerationRequest",
    "GenerationSettings",
    "Generator",
    "PromptLibrary",
    "Result",
]
