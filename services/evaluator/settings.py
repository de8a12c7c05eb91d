from __future__ import annotations

from pydantic import Field

from helpdesk.llm.settings import ModelSettings
from helpdesk.settings import ServiceSettings


class EvaluatorSettings(ServiceSettings):
    """The evaluator's knobs (`HELPDESK_*`). Domain code receives these values, never the environment."""

    record_retention_seconds: int = Field(default=90 * 24 * 3600, gt=0)
    knowledge_path: str | None = Field(
        default=None, description="Directory of the default knowledge base files (knowledge/ when unset)."
    )

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

    llm: ModelSettings = Field(
        default_factory=ModelSettings,
        description="The model endpoint the judge and the FAQ drafter use, configured as dialogue's is "
        "(HELPDESK_LLM__*, OPENAI_*, AZURE_OPENAI_*).",
    )
    judge_model: str = "gpt-4o-mini"
    judge_max_per_minute: int = Field(default=30, ge=1)
    judge_daily_budget_usd: float = Field(default=1.0, ge=0)
    judge_queue_size: int = Field(default=1000, ge=1)
    judge_timeout_seconds: float = Field(
        default=20.0, gt=0, description="The deadline of one judge or drafting call, retries included."
    )

    candidate_duplicate_threshold: float = Field(
        default=0.75, gt=0, le=1, description="Term similarity at which a candidate repeats a known question."
    )
    operator_session_seconds: int = Field(default=8 * 3600, gt=0)
    secure_cookies: bool = Field(
        default=False, description="Mark the dashboard cookie Secure (always on outside local runs)."
    )
