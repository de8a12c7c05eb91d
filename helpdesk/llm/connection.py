"""`connect`: the configured model endpoint, or None when the service runs without one.

The OpenAI SDK (with tenacity for the retry rules and, on Azure with a managed identity,
azure-identity) is imported only when an endpoint is configured, so a service without one (FAQ answers
only) never loads them.

The key comes from the Dapr secret store (`openai-api-key`, `azure-openai-api-key`), or on Azure from a
managed identity; it is read once, when the client is built.
"""

from __future__ import annotations

from helpdesk.dapr.ports import SecretSource
from helpdesk.llm.port import ChatModel
from helpdesk.llm.settings import AzureAuth, ModelSettings
from helpdesk.logging import get_logger

_log = get_logger(__name__)


async def connect(settings: ModelSettings, secrets: SecretSource) -> ChatModel | None:
    """Azure when `AZURE_OPENAI_ENDPOINT` is set; OpenAI(-compatible) when `OPENAI_BASE_URL` is set or
    the secret store holds `openai-api-key` (then api.openai.com). A local OpenAI-compatible server
    that needs no key may run without the secret. None: offline."""
    if settings.azure_endpoint:
        key: str | None = None
        if settings.azure_auth is not AzureAuth.MANAGED_IDENTITY:
            key = await secrets.get_secret(settings.azure_api_key_secret)
            if not key:
                _log.warning("llm_key_missing", secret=settings.azure_api_key_secret, provider="azure")
                return None
        from helpdesk.llm.openai_adapter import azure_model

        model = azure_model(settings, key)
        _log.info("llm_configured", provider="azure", auth=settings.azure_auth.value)
        return model
    key = await secrets.get_secret(settings.openai_api_key_secret)
    if settings.provider is None and not key:
        _log.info("llm_not_configured")
        return None
    from helpdesk.llm.openai_adapter import openai_model

    model = openai_model(settings, key)
    _log.info("llm_configured", provider="openai", keyed=bool(key))
    return model
