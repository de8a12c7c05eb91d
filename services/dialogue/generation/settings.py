"""Settings of answer generation, embeddable in the dialogue service's settings.

Endpoint variables keep the names the OpenAI SDK documents (`OPENAI_BASE_URL`, `AZURE_OPENAI_ENDPOINT`,
`OPENAI_API_VERSION`) so that operators can reuse what they know; everything else is
`HELPDESK_GENERATION__*`, which is also what `DialogueSettings(generation=...)` reads through its nested
delimiter. Keys are never settings: they come from the Dapr secret store (secret names below).
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_PREFIX = "HELPDESK_GENERATION__"


def _env(name: str, *sdk_names: str) -> AliasChoices:
    return AliasChoices(name, *sdk_names, _PREFIX + name.upper())


class GenerationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=_PREFIX, extra="ignore", frozen=True, populate_by_name=True)

    openai_base_url: str | None = Field(
        default=None,
        validation_alias=_env("openai_base_url", "OPENAI_BASE_URL"),
        description="Any OpenAI-compatible endpoint (https://api.openai.com/v1, a proxy, a local server).",
    )
    openai_api_key_secret: str = Field(default="openai-api-key", description="Secret store name of the key.")
    azure_endpoint: str | None = Field(
        default=None,
        validation_alias=_env("azure_endpoint", "AZURE_OPENAI_ENDPOINT"),
        description="https://<resource>.openai.azure.com; when set, Azure OpenAI is used.",
    )
    azure_api_version: str = Field(
        default="2024-10-21", validation_alias=_env("azure_api_version", "OPENAI_API_VERSION")
    )
    azure_deployments: dict[str, str] = Field(
        default_factory=dict,
        description="model flag value -> Azure deployment name; a model not listed is its own deployment.",
    )
    azure_auth: Literal["key", "managed_identity"] = "key"
    azure_api_key_secret: str = Field(default="azure-openai-api-key")
    azure_client_id: str | None = Field(
        default=None,
        validation_alias=_env("azure_client_id", "AZURE_CLIENT_ID"),
        description="User-assigned managed identity; unset uses the default credential chain.",
    )

    timeout_seconds: float = Field(default=8.0, gt=0, description="Client timeout of one attempt.")
    connect_timeout_seconds: float = Field(default=2.0, gt=0)
    deadline_seconds: float = Field(
        default=12.0, gt=0, description="Whole generation, retries included; then the FAQ answer."
    )
    max_retries: int = Field(default=2, ge=0, le=5, description="Retries after the first attempt.")
    backoff_initial_seconds: float = Field(default=0.5, gt=0)
    backoff_max_seconds: float = Field(default=4.0, gt=0)
    min_attempt_seconds: float = Field(
        default=1.0, ge=0, description="No retry starts with less time than this left before the deadline."
    )
    breaker_failure_threshold: int = Field(default=5, gt=0, description="Failed generations in a row.")
    breaker_reset_seconds: float = Field(default=30.0, gt=0, description="Open time before a trial call.")

    conversation_token_budget: int = Field(default=20_000, ge=0, description="0: unlimited.")
    user_daily_token_budget: int = Field(default=100_000, ge=0, description="0: unlimited (UTC days).")
    conversation_budget_ttl_seconds: int = Field(default=7 * 24 * 3600, gt=0)
    cache_ttl_seconds: int = Field(default=24 * 3600, ge=0, description="0 disables the response cache.")

    json_mode: bool = Field(
        default=True, description="Ask for response_format json_object (turn off for servers without it)."
    )
    on_injection_suspected: Literal["faq", "llm"] = Field(
        default="faq", description="faq: a turn nlp flagged as an injection attempt never reaches the model."
    )
    prompts_dir: str | None = Field(default=None, description="Default: the repository's prompts/.")
    price_table_path: str | None = Field(default=None, description="Default: prompts/prices.yaml.")

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if self.timeout_seconds > self.deadline_seconds:
            raise ValueError("the client timeout must not exceed the generation deadline")
        if self.backoff_initial_seconds > self.backoff_max_seconds:
            raise ValueError("backoff_initial_seconds exceeds backoff_max_seconds")
        return self

    @property
    def provider(self) -> Literal["azure", "openai"] | None:
        """Which endpoint is configured; None: offline (FAQ answers only) unless a key is in the store."""
        if self.azure_endpoint:
            return "azure"
        if self.openai_base_url:
            return "openai"
        return None

    def deployment(self, model: str) -> str:
        return self.azure_deployments.get(model, model)
