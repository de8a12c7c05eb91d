"""dialogue's settings of the model: the shared stack's (`llm`) beside generation's own, the names
dialogue read before the stack was shared, and a client timeout that must fit the turn's deadline."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from helpdesk.llm.settings import AzureAuth, ModelSettings
from services.dialogue.generation import GenerationSettings
from services.dialogue.settings import DialogueSettings


def test_dialogues_former_names_still_configure_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """What deploy/main.bicep and docs/llm.md set before the stack was shared keeps working."""
    monkeypatch.setenv("HELPDESK_GENERATION__AZURE_AUTH", "managed_identity")
    monkeypatch.setenv("HELPDESK_GENERATION__AZURE_DEPLOYMENTS", '{"gpt-4o-mini": "chat-mini"}')
    monkeypatch.setenv("HELPDESK_GENERATION__TIMEOUT_SECONDS", "6")
    monkeypatch.setenv("HELPDESK_GENERATION__MAX_RETRIES", "1")
    monkeypatch.setenv("HELPDESK_GENERATION__JSON_MODE", "false")
    monkeypatch.setenv("HELPDESK_GENERATION__PRICE_TABLE_PATH", "/etc/helpdesk/prices.yaml")
    monkeypatch.setenv("HELPDESK_GENERATION__DEADLINE_SECONDS", "20")

    settings = DialogueSettings()

    assert settings.llm.azure_auth is AzureAuth.MANAGED_IDENTITY
    assert settings.llm.deployment("gpt-4o-mini") == "chat-mini"
    assert (settings.llm.timeout_seconds, settings.llm.max_retries) == (6, 1)
    assert settings.llm.json_mode is False
    assert str(settings.llm.price_table) == "/etc/helpdesk/prices.yaml"
    assert settings.generation.deadline_seconds == 20


def test_a_client_timeout_longer_than_the_deadline_is_refused() -> None:
    with pytest.raises(ValidationError, match="deadline"):
        DialogueSettings(
            llm=ModelSettings(timeout_seconds=30), generation=GenerationSettings(deadline_seconds=10)
        )
