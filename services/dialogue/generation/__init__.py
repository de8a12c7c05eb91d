"""Answer generation with the shared model stack (`helpdesk.llm`): grounded in retrieved FAQ entries
and passages of documents, cited, cached, budgeted, and always replaceable by the answer without a
model (see `generator` for the contract)."""

from services.dialogue.generation.answer_prompts import (
    AnswerPrompt,
    FaqContext,
    KnowledgeContext,
    PassageContext,
    load_answer_prompts,
)
from services.dialogue.generation.choice_prompts import ChoicePrompt, load_choice_prompts
from services.dialogue.generation.generator import (
    Choice,
    Fallback,
    FallbackReason,
    Generated,
    GenerationRequest,
    Generator,
    Picked,
    Result,
)
from services.dialogue.generation.settings import GenerationSettings

__all__ = [
    "AnswerPrompt",
    "Choice",
    "ChoicePrompt",
    "Fallback",
    "FallbackReason",
    "FaqContext",
    "Generated",
    "GenerationRequest",
    "GenerationSettings",
    "Generator",
    "KnowledgeContext",
    "PassageContext",
    "Picked",
    "Result",
    "load_answer_prompts",
    "load_choice_prompts",
]
