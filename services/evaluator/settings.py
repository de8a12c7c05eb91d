from __future__ import annotations

from pydantic import AliasChoices, Field

from helpdesk.settings import ServiceSettings


class EvaluatorSettings(ServiceSettings):
    """The evaluator's knobs (`HELPDESK_*`). Domain code receives these values, never the environment."""

    record_retention_seconds: int = Field(default=90 * 24 * 3600, gt=0)
    knowledge_path: str | None = Field(
        default=None, description="Directory of the default knowledge base files (knowledge/ when unset)."
    )
    prompts_path: str | None = Field(default=None, description="Versioned prompts (prompts/ when unset).")

    aggregate_flush_seconds: float = Field(
        default=0.05, gt=0, description="Group commit interval of the aggregate ledger."
    )
    aggregate_batch_size: int = Field(
        default=256, gt=0, description="Flush early once this many are pending."
    )
    aggregate_stale_seconds: float = Field(
        default=10.0, gt=0, description="After this, an unflushed aggregate shard is presumed abandoned."
    )
    knowledge_refresh_seconds: float = Field(default=30.0, gt=0)

    min_samples_per_arm: int = Field(
        default=100, ge=2, description="Below this an A/B verdict is 'collecting'."
    )
    significance_level: float = Field(default=0.05, gt=0, lt=0.5)
    baseline_variant: str | None = Field(
        default=None, description="The A/B control arm; the arm with the most turns when unset."
    )

    judge_model: str = "gpt-4o-mini"
    judge_max_per_minute: int = Field(default=30, ge=1)
    judge_daily_budget_usd: float = Field(default=1.0, ge=0)
    judge_queue_size: int = Field(default=1000, ge=1)
    judge_timeout_seconds: float = Field(default=20.0, gt=0)
    openai_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("OPENAI_BASE_URL", "HELPDESK_OPENAI_BASE_URL"),
        description="An OpenAI-compatible endpoint for the judge (the SDK's variable, as dialogue reads it).",
    )
    azure_openai_endpoint: str | None = Field(
        default=None, validation_alias=AliasChoices("AZURE_OPENAI_ENDPOINT", "HELPDESK_AZURE_OPENAI_ENDPOINT")
    )
    azure_openai_api_version: str = Field(
        default="2024-10-21",
        validation_alias=AliasChoices("OPENAI_API_VERSION", "HELPDESK_AZURE_OPENAI_API_VERSION"),
    )

    candidate_duplicate_threshold: float = Field(
        default=0.75, gt=0, le=1, description="Term similarity at which a candidate repeats a known question."
    )
    operator_session_seconds: int = Field(default=8 * 3600, gt=0)
    secure_cookies: bool = Field(
        default=False, description="Mark the dashboard cookie Secure (always on outside local runs)."
    )
