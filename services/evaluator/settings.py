from __future__ import annotations

from pydantic import Field

from helpdesk.llm.settings import ModelSettings
from helpdesk.settings import ServiceSettings


class EvaluatorSettings(ServiceSettings):
    """The evaluator's knobs (`HELPDESK_*`). Domain code receives these values, never the environment."""

    record_retention_seconds: int = Field(
        default=14 * 24 * 3600,
        gt=0,
        description="How long the per-turn records (evaluations, sessions, ratings, judge verdicts) and "
        "dead letters are kept. They serve the turn drill-down and are the gate that counts a redelivered "
        "event once, so never below the longest redelivery: Service Bus keeps a message 14 days "
        "(deploy/modules/servicebus.bicep). The quality, session and A/B numbers come from the daily "
        "aggregates, kept 91 days whatever this says.",
    )
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

    bulk_delivery: bool = Field(
        default=True,
        description="Take chat.answered and chat.escalated from the sidecar in batches (Dapr bulk "
        "subscribe): one request per batch instead of one per event.",
    )
    bulk_max_messages: int = Field(
        default=32,
        ge=1,
        description="The most events in one batch. On Service Bus the sidecar cuts a batch to the messages "
        "it may hold (maxActiveMessages, at least 32 in deploy/) and logs a warning each time.",
    )
    bulk_max_await_ms: int = Field(
        default=250, ge=1, description="How long the sidecar gathers a batch before sending what it has."
    )
    bulk_concurrency: int = Field(
        default=32, ge=1, description="Events of one batch evaluated at once (1: one after another)."
    )

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
    learn_wordings_min_users: int = Field(
        default=2,
        ge=1,
        description="Distinct users who must pick the same entry in a clarification of the same wording "
        "before the wording is proposed as an alternative of that entry.",
    )
    learn_wordings_automatically: bool = Field(
        default=False,
        description="Add a learned wording to its entry at once instead of queueing it for review.",
    )
    operator_session_seconds: int = Field(default=8 * 3600, gt=0)
    secure_cookies: bool = Field(
        default=False, description="Mark the dashboard cookie Secure (always on outside local runs)."
    )
