from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, model_validator

from helpdesk.llm.settings import ModelSettings
from helpdesk.settings import ServiceSettings
from services.dialogue.generation.settings import GenerationSettings

DEFAULT_KNOWLEDGE_PATH = Path(__file__).resolve().parent.parent.parent / "knowledge"


class DialogueSettings(ServiceSettings):
    conversation_ttl_seconds: int = Field(default=7 * 24 * 3600, gt=0)
    recent_turns: int = Field(default=10, gt=0, description="Turns of context kept per conversation.")
    knowledge_path: Path = Field(
        default=DEFAULT_KNOWLEDGE_PATH,
        description="The default knowledge base, answered from until the knowledge store has a version "
        "(the evaluator seeds the store from the same files).",
    )
    knowledge_refresh_seconds: float = Field(
        default=30.0,
        ge=0,
        description="How often a replica compares its knowledge base with the knowledge store's current "
        "version (0: never); catches kb.updated events it missed.",
    )
    semantic_retrieval: bool = Field(
        default=True,
        description="Multilingual sentence vectors in retrieval and the answer model (about 120 MB and "
        "2 ms of CPU per question); off, or without the package, retrieval is lexical.",
    )
    answer_confidence: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Answer from the knowledge base from this probability (default: the answer model's "
        "own threshold, chosen on its cross-validated curve).",
    )
    clarify_confidence: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Offer choices from here; below it, hand over to a person (default: the model's).",
    )
    llm: ModelSettings = Field(
        default_factory=ModelSettings,
        description="The model endpoint, its client time limits and retries, prompts and prices "
        "(HELPDESK_LLM__*, OPENAI_*, AZURE_OPENAI_*).",
    )
    generation: GenerationSettings = Field(
        default_factory=GenerationSettings,
        description="The turn's deadline for the model, the breaker, budgets and cache "
        "(HELPDESK_GENERATION__*).",
    )

    @model_validator(mode="after")
    def _client_timeout_within_deadline(self) -> Self:
        if self.llm.timeout_seconds > self.generation.deadline_seconds:
            raise ValueError("the client timeout must not exceed the generation deadline")
        return self
