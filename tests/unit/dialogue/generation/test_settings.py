"""Configuration: the SDK's endpoint variables, HELPDESK_GENERATION__*, embedding in service settings, and
which endpoint the secret store's keys select."""

from __future__ import annotations

import pytest
from openai import AsyncAzureOpenAI, AsyncOpenAI
from pydantic import Field, ValidationError

from helpdesk.inprocess import MemorySecrets
from helpdesk.settings import ServiceSettings
from services.dialogue.generation import GenerationSettings
from services.dialogue.generation.llm import OPENAI_DEFAULT_BASE_URL, connect


class EmbeddingSettings(ServiceSettings):
    generation: GenerationSettings = Field(default_factory=GenerationSettings)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "OPENAI_BASE_URL",
        "AZURE_OPENAI_ENDPOINT",
        "OPENAI_API_VERSION",
        "AZURE_CLIENT_ID",
        "OPENAI_API_KEY",
    ):
        monkeypatch.delenv(name, raising=False)


def test_the_sdk_variable_names_select_the_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    assert GenerationSettings().provider == "openai"

    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://helpdesk.openai.azure.com")
    monkeypatch.setenv("OPENAI_API_VERSION", "2025-01-01")
    settings = GenerationSettings()
    assert (settings.provider, settings.azure_api_version) == ("azure", "2025-01-01")


def test_nested_helpdesk_variables_reach_embedded_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("HELPDESK_GENERATION__DEADLINE_SECONDS", "20")
    monkeypatch.setenv("HELPDESK_GENERATION__AZURE_DEPLOYMENTS", '{"gpt-4o-mini": "chat-mini"}')
    monkeypatch.setenv("HELPDESK_GENERATION__USER_DAILY_TOKEN_BUDGET", "5000")

    settings = EmbeddingSettings().generation

    assert settings.openai_base_url == "http://127.0.0.1:9/v1"
    assert settings.deadline_seconds == 20
    assert settings.deployment("gpt-4o-mini") == "chat-mini"
    assert settings.deployment("gpt-4o") == "gpt-4o"
    assert settings.user_daily_token_budget == 5000


def test_a_client_timeout_longer_than_the_deadline_is_refused() -> None:
    with pytest.raises(ValidationError, match="deadline"):
        GenerationSettings(timeout_seconds=30, deadline_seconds=10)


async def test_offline_by_default() -> None:
    assert GenerationSettings().provider is None
    assert await connect(GenerationSettings(), MemorySecrets()) is None


async def test_a_key_in_the_secret_store_alone_means_openai() -> None:
    model = await connect(GenerationSettings(), MemorySecrets({"openai-api-key": "sk-1"}))

    assert model is not None
    assert isinstance(model.client, AsyncOpenAI)
    assert model.endpoint.rstrip("/") == OPENAI_DEFAULT_BASE_URL
    assert model.client.api_key == "sk-1"


async def test_azure_with_a_key_from_the_secret_store() -> None:
    settings = GenerationSettings(azure_endpoint="https://helpdesk.openai.azure.com")
    model = await connect(settings, MemorySecrets({"azure-openai-api-key": "az-1", "openai-api-key": "sk-1"}))

    assert model is not None
    assert isinstance(model.client, AsyncAzureOpenAI)
    assert model.client.api_key == "az-1"
    assert model.client.max_retries == 0


async def test_azure_with_a_managed_identity_needs_no_key() -> None:
    settings = GenerationSettings(
        azure_endpoint="https://helpdesk.openai.azure.com", azure_auth="managed_identity"
    )

    model = await connect(settings, MemorySecrets())

    assert model is not None
    assert isinstance(model.client, AsyncAzureOpenAI)
    await model.close()
