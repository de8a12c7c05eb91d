"""`ModelSettings`: the endpoint, the client's time limits and retries, and where prompts and prices are.

Each model-using service embeds it as `llm` in its own settings, so it reads `HELPDESK_LLM__*`. Endpoint
variables keep the names the OpenAI SDK documents (`OPENAI_BASE_URL`, `AZURE_OPENAI_ENDPOINT`,
`OPENAI_API_VERSION`, `AZURE_CLIENT_ID`). The names each service read before the stack was shared stay
accepted, so deployed configuration keeps working: dialogue's `HELPDESK_GENERATION__<NAME>` for every
field, and the evaluator's `HELPDESK_OPENAI_BASE_URL`, `HELPDESK_AZURE_OPENAI_ENDPOINT`,
`HELPDESK_AZURE_OPENAI_API_VERSION` and `HELPDESK_PROMPTS_PATH`. Keys are never settings: they come
from the Dapr secret store, under the secret names below.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Self

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PREFIX = "HELPDESK_LLM__"
DIALOGUE_PREFIX = "HELPDESK_GENERATION__"
"""Where dialogue read these settings before they were shared (still accepted)."""

DEFAULT_PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"


class Provider(StrEnum):
    AZURE = "azure"
    OPENAI = "openai"


class AzureAuth(StrEnum):
    KEY = "key"
    MANAGED_IDENTITY = "managed_identity"


def _env(name: str, *, before: tuple[str, ...] = (), after: tuple[str, ...] = ()) -> AliasChoices:
    """The variables a field is read from, first match wins: `before` (the SDK's names), the current
    name, `after` (the evaluator's former names), then dialogue's former name."""
    upper = name.upper()
    return AliasChoices(*before, PREFIX + upper, *after, DIALOGUE_PREFIX + upper)


class ModelSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    openai_base_url: str | None = Field(
        default=None,
        validation_alias=_env(
            "openai_base_url", before=("OPENAI_BASE_URL",), after=("HELPDESK_OPENAI_BASE_URL",)
        ),
        description="Any OpenAI-compatible endpoint (https://api.openai.com/v1, a proxy, a local server).",
    )
    openai_api_key_secret: str = Field(
        default="openai-api-key",
        validation_alias=_env("openai_api_key_secret"),
        description="Secret store name of the key.",
    )
    azure_endpoint: str | None = Field(
        default=None,
        validation_alias=_env(
            "azure_endpoint", before=("AZURE_OPENAI_ENDPOINT",), after=("HELPDESK_AZURE_OPENAI_ENDPOINT",)
        ),
        description="https://<resource>.openai.azure.com; when set, Azure OpenAI is used.",
    )
    azure_api_version: str = Field(
        default="2024-10-21",
        validation_alias=_env(
            "azure_api_version",
            before=("OPENAI_API_VERSION",),
            after=("HELPDESK_AZURE_OPENAI_API_VERSION",),
        ),
    )
    azure_deployments: dict[str, str] = Field(
        default_factory=dict,
        validation_alias=_env("azure_deployments"),
        description="model name -> Azure deployment name; a model not listed is its own deployment.",
    )
    azure_auth: AzureAuth = Field(default=AzureAuth.KEY, validation_alias=_env("azure_auth"))
    azure_api_key_secret: str = Field(
        default="azure-openai-api-key", validation_alias=_env("azure_api_key_secret")
    )
    azure_client_id: str | None = Field(
        default=None,
        validation_alias=_env("azure_client_id", before=("AZURE_CLIENT_ID",)),
        description="User-assigned managed identity; unset uses the default credential chain.",
    )

    timeout_seconds: float = Field(
        default=8.0,
        gt=0,
        validation_alias=_env("timeout_seconds"),
        description="Client timeout of one attempt.",
    )
    connect_timeout_seconds: float = Field(
        default=2.0, gt=0, validation_alias=_env("connect_timeout_seconds")
    )
    max_retries: int = Field(
        default=2,
        ge=0,
        le=5,
        validation_alias=_env("max_retries"),
        description="Retries after the first attempt.",
    )
    backoff_initial_seconds: float = Field(
        default=0.5, gt=0, validation_alias=_env("backoff_initial_seconds")
    )
    backoff_max_seconds: float = Field(default=4.0, gt=0, validation_alias=_env("backoff_max_seconds"))
    min_attempt_seconds: float = Field(
        default=1.0,
        ge=0,
        validation_alias=_env("min_attempt_seconds"),
        description="No retry starts with less time than this left before the deadline.",
    )
    json_mode: bool = Field(
        default=True,
        validation_alias=_env("json_mode"),
        description="Ask for response_format json_object (turn off for servers without it).",
    )

    prompts_dir: Path | None = Field(
        default=None,
        validation_alias=_env("prompts_dir", after=("HELPDESK_PROMPTS_PATH",)),
        description="The versioned prompt files. Default: the repository's prompts/.",
    )
    price_table_path: Path | None = Field(
        default=None,
        validation_alias=_env("price_table_path"),
        description="Default: prices.yaml beside the prompts.",
    )

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if self.backoff_initial_seconds > self.backoff_max_seconds:
            raise ValueError("backoff_initial_seconds exceeds backoff_max_seconds")
        return self

    @property
    def provider(self) -> Provider | None:
        """Which endpoint is configured; None: offline (FAQ answers only) unless a key is in the store."""
        if self.azure_endpoint:
            return Provider.AZURE
        if self.openai_base_url:
            return Provider.OPENAI
        return None

    def deployment(self, model: str) -> str:
        return self.azure_deployments.get(model, model)

    @property
    def prompts_directory(self) -> Path:
        return self.prompts_dir or DEFAULT_PROMPTS_DIR

    @property
    def price_table(self) -> Path:
        return self.price_table_path or self.prompts_directory / "prices.yaml"
