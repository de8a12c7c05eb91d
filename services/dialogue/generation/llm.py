"""The model endpoint: what the generator asks of it, and `connect`, which builds it from settings.

The OpenAI SDK (with tenacity for the retry rules and, on Azure with a managed identity,
azure-identity) is imported only when an endpoint is configured: together they hold about 60 MB of
resident memory, which an offline helpdesk (FAQ answers only) never needs. The client itself and its
retry rules are in `openai_endpoint`.

The key comes from the Dapr secret store (`openai-api-key`, `azure-openai-api-key`), or on Azure from a
managed identity; it is read once when the client is built.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Literal

from helpdesk.dapr.ports import SecretSource
from helpdesk.logging import get_logger
from services.dialogue.generation.settings import GenerationSettings

if TYPE_CHECKING:
    from services.dialogue.generation.openai_endpoint import ChatModel

_log = get_logger(__name__)

AZURE_SCOPE = "https://cognitiveservices.azure.com/.default"
OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"

CallOutcome = Literal[
    "success", "timeout", "rate_limited", "server_error", "connection_error", "client_error"
]


@dataclass(frozen=True, slots=True)
class Completion:
    content: str
    prompt_tokens: int
    completion_tokens: int
    model: str
    """The model the endpoint says answered (an Azure deployment reports its underlying model)."""


class EndpointFailed(Exception):
    """The model could not answer within the deadline; `outcome` says why (for metrics and fallbacks)."""

    def __init__(self, outcome: CallOutcome, detail: str = "") -> None:
        super().__init__(f"{outcome}: {detail}" if detail else outcome)
        self.outcome = outcome


def retry_after_seconds(exc: BaseException | None) -> float | None:
    """What the server asked us to wait, from `retry-after-ms` or `retry-after` (seconds or HTTP date)."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    if (millis := headers.get("retry-after-ms")) is not None:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        return max(parsedate_to_datetime(raw).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError):
        return None


async def connect(settings: GenerationSettings, secrets: SecretSource) -> ChatModel | None:
    """The configured endpoint, or None when the helpdesk runs offline (FAQ answers only).

    Azure when `AZURE_OPENAI_ENDPOINT` is set; OpenAI(-compatible) when `OPENAI_BASE_URL` is set or
    the secret store holds `openai-api-key` (then api.openai.com). A local OpenAI-compatible server
    that needs no key may run without the secret.
    """
    if settings.azure_endpoint:
        key: str | None = None
        if settings.azure_auth != "managed_identity":
            key = await secrets.get_secret(settings.azure_api_key_secret)
            if not key:
                _log.warning("llm_key_missing", secret=settings.azure_api_key_secret, provider="azure")
                return None
        from services.dialogue.generation.openai_endpoint import azure_model

        model = azure_model(settings, key)
        _log.info("llm_configured", provider="azure", auth=settings.azure_auth)
        return model
    key = await secrets.get_secret(settings.openai_api_key_secret)
    if settings.provider is None and not key:
        _log.info("llm_not_configured")
        return None
    from services.dialogue.generation.openai_endpoint import openai_model

    model = openai_model(settings, key)
    _log.info("llm_configured", provider="openai", keyed=bool(key))
    return model
