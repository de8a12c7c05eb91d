"""The shared model settings: the SDK's endpoint variables, HELPDESK_LLM__* through a service's settings,
the names the evaluator read before (still accepted), and which endpoint the secret store's keys
select. Dialogue's former names: tests/unit/dialogue/generation/test_generation_settings.py."""

from __future__ import annotations

import pytest
from openai import AsyncAzureOpenAI, AsyncOpenAI
from pydantic import Field, ValidationError

from helpdesk.llm.connection import connect
from helpdesk.llm.openai_adapter import OPENAI_DEFAULT_BASE_URL, OpenAIChatModel
from helpdesk.llm.settings import DEFAULT_PROMPTS_DIR, AzureAuth, ModelSettings, Provider
from helpdesk.memory_ports import MemorySecrets
from helpdesk.settings import ServiceSettings


class EmbeddingSettings(ServiceSettings):
    llm: ModelSettings = Field(default_factory=ModelSettings)


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
    assert ModelSettings().provider is Provider.OPENAI

    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://helpdesk.openai.azure.com")
    monkeypatch.setenv("OPENAI_API_VERSION", "2025-01-01")
    settings = ModelSettings()
    assert (settings.provider, settings.azure_api_version) == (Provider.AZURE, "2025-01-01")


def test_nested_helpdesk_variables_reach_embedded_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("HELPDESK_LLM__TIMEOUT_SECONDS", "5")
    monkeypatch.setenv("HELPDESK_LLM__AZURE_DEPLOYMENTS", '{"gpt-4o-mini": "chat-mini"}')

    settings = EmbeddingSettings().llm

    assert settings.openai_base_url == "http://127.0.0.1:9/v1"
    assert settings.timeout_seconds == 5
    assert settings.deployment("gpt-4o-mini") == "chat-mini"
    assert settings.deployment("gpt-4o") == "gpt-4o"


def test_the_evaluators_former_names_still_configure_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELPDESK_AZURE_OPENAI_ENDPOINT", "https://helpdesk.openai.azure.com")
    monkeypatch.setenv("HELPDESK_AZURE_OPENAI_API_VERSION", "2025-01-01")
    monkeypatch.setenv("HELPDESK_OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("HELPDESK_PROMPTS_PATH", "/etc/helpdesk/prompts")

    settings = ModelSettings()

    assert settings.azure_endpoint == "https://helpdesk.openai.azure.com"
    assert settings.azure_api_version == "2025-01-01"
    assert settings.openai_base_url == "http://127.0.0.1:9/v1"
    assert str(settings.prompts_directory) == "/etc/helpdesk/prompts"
    assert str(settings.price_table) == "/etc/helpdesk/prompts/prices.yaml"


def test_the_current_name_wins_over_a_former_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELPDESK_GENERATION__TIMEOUT_SECONDS", "6")
    monkeypatch.setenv("HELPDESK_LLM__TIMEOUT_SECONDS", "4")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://new.openai.azure.com")
    monkeypatch.setenv("HELPDESK_AZURE_OPENAI_ENDPOINT", "https://old.openai.azure.com")

    assert ModelSettings().timeout_seconds == 4
    assert EmbeddingSettings().llm.timeout_seconds == 4
    assert ModelSettings().azure_endpoint == "https://new.openai.azure.com"


def test_prompts_and_prices_default_to_the_repository() -> None:
    settings = ModelSettings()
    assert settings.prompts_directory == DEFAULT_PROMPTS_DIR
    assert settings.price_table == DEFAULT_PROMPTS_DIR / "prices.yaml"
    assert settings.price_table.exists()


def test_a_backoff_that_starts_above_its_cap_is_refused() -> None:
    with pytest.raises(ValidationError, match="backoff"):
        ModelSettings(backoff_initial_seconds=5, backoff_max_seconds=1)


async def test_offline_by_default() -> None:
    assert ModelSettings().provider is None
    assert await connect(ModelSettings(), MemorySecrets()) is None


async def test_a_key_in_the_secret_store_alone_means_openai() -> None:
    model = await connect(ModelSettings(), MemorySecrets({"openai-api-key": "sk-1"}))

    assert isinstance(model, OpenAIChatModel)
    assert isinstance(model.client, AsyncOpenAI)
    assert model.endpoint.rstrip("/") == OPENAI_DEFAULT_BASE_URL
    assert model.client.api_key == "sk-1"
    await model.close()


async def test_a_local_server_needs_no_key() -> None:
    model = await connect(ModelSettings(openai_base_url="http://127.0.0.1:9/v1"), MemorySecrets())

    assert isinstance(model, OpenAIChatModel)
    assert model.endpoint.rstrip("/") == "http://127.0.0.1:9/v1"
    await model.close()


async def test_azure_with_a_key_from_the_secret_store() -> None:
    settings = ModelSettings(azure_endpoint="https://helpdesk.openai.azure.com")
    model = await connect(settings, MemorySecrets({"azure-openai-api-key": "az-1", "openai-api-key": "sk-1"}))

    assert isinstance(model, OpenAIChatModel)
    assert isinstance(model.client, AsyncAzureOpenAI)
    assert model.client.api_key == "az-1"
    assert model.client.max_retries == 0
    await model.close()


async def test_azure_without_its_key_is_offline() -> None:
    settings = ModelSettings(azure_endpoint="https://helpdesk.openai.azure.com")
    assert await connect(settings, MemorySecrets({"openai-api-key": "sk-1"})) is None


async def test_azure_with_a_managed_identity_needs_no_key() -> None:
    settings = ModelSettings(
        azure_endpoint="https://helpdesk.openai.azure.com", azure_auth=AzureAuth.MANAGED_IDENTITY
    )

    model = await connect(settings, MemorySecrets())

    assert isinstance(model, OpenAIChatModel)
    assert isinstance(model.client, AsyncAzureOpenAI)
    await model.close()


def test_the_names_deploy_sets_for_both_apps_configure_any_service_that_embeds_the_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """deploy/main.bicep gives dialogue and the evaluator the same model variables (dialogue's former
    name for the auth mode): a service without dialogue's `generation` settings reads them too."""
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://helpdesk.openai.azure.com")
    monkeypatch.setenv("HELPDESK_GENERATION__AZURE_AUTH", "managed_identity")
    monkeypatch.setenv("AZURE_CLIENT_ID", "client-id")

    settings = EmbeddingSettings().llm

    assert settings.provider is Provider.AZURE
    assert settings.azure_auth is AzureAuth.MANAGED_IDENTITY
    assert settings.azure_client_id == "client-id"
