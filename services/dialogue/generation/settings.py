"""Settings of answer generation (`HELPDESK_GENERATION__*`), embedded in the dialogue service's settings.

The endpoint, the client's time limits and retries, and where prompts and prices are, belong to the
shared model stack (`helpdesk.llm.settings.ModelSettings`, `HELPDESK_LLM__*`); what is here is
dialogue's own: how long a turn may wait for the model, when to stop calling it, what a user may spend,
and how long an answer is reused.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class InjectionHandling(StrEnum):
    """What a turn that nlp flagged as a prompt-injection attempt gets."""

    FAQ = "faq"
    """The FAQ answer; the turn never reaches the model."""
    LLM = "llm"
    """The model, where the output checks still apply."""


class GenerationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HELPDESK_GENERATION__", extra="ignore", frozen=True)

    deadline_seconds: float = Field(
        default=12.0, gt=0, description="Whole generation, retries included; then the FAQ answer."
    )
    choice_deadline_seconds: float = Field(
        default=5.0,
        gt=0,
        description="A pick among a clarification's choices (answer mode faq_model_choice), retries "
        "included; then the clarification, which is ready and safe, so it waits less than an answer.",
    )
    breaker_failure_threshold: int = Field(default=5, gt=0, description="Failed generations in a row.")
    breaker_reset_seconds: float = Field(default=30.0, gt=0, description="Open time before a trial call.")

    conversation_token_budget: int = Field(default=20_000, ge=0, description="0: unlimited.")
    user_daily_token_budget: int = Field(default=100_000, ge=0, description="0: unlimited (UTC days).")
    conversation_budget_ttl_seconds: int = Field(default=7 * 24 * 3600, gt=0)
    cache_ttl_seconds: int = Field(default=24 * 3600, ge=0, description="0 disables the response cache.")

    choice_prompt: str = Field(
        default="choice",
        pattern=r"^[a-z0-9][a-z0-9-]*(@[0-9]+)?$",
        description="The prompt that picks among a clarification's choices (answer mode "
        "faq_model_choice): an id (its newest version) or pinned, `choice@1`.",
    )

    on_injection_suspected: InjectionHandling = Field(
        default=InjectionHandling.FAQ,
        description="faq: a turn nlp flagged as an injection attempt never reaches the model.",
    )
