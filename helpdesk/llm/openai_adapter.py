"""The OpenAI or Azure OpenAI chat client behind `ChatModel` (loaded by `connection.connect` only when an
endpoint is configured).

The SDK's built-in retries are switched off (`max_retries=0`) because they cannot be bounded by a
caller's deadline. Each call instead goes through `BoundedRetries` (see `retries`) with:
- an explicit client timeout per attempt, never longer than what is left of the deadline;
- retries only of what a retry can fix (429, 5xx, a refused connection), never of a 429 that says the
  quota is spent, and never of a timeout: a slow endpoint asked twice is twice as slow and bills twice.
On Azure the model name is mapped to a deployment (`ModelSettings.azure_deployments`), and the key may
be replaced by the app's managed identity.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import openai
from openai import AsyncAzureOpenAI, AsyncOpenAI

from helpdesk.llm.call_metrics import LLM_CALLS, LLM_SECONDS
from helpdesk.llm.port import CallOutcome, ChatMessage, Completion, EndpointFailed
from helpdesk.llm.retries import BoundedRetries, retry_after_seconds
from helpdesk.llm.settings import ModelSettings
from helpdesk.logging import get_logger

_log = get_logger(__name__)

AZURE_SCOPE = "https://cognitiveservices.azure.com/.default"
OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"


def classify(exc: BaseException) -> CallOutcome:
    if isinstance(exc, openai.APITimeoutError | TimeoutError):
        return CallOutcome.TIMEOUT
    if isinstance(exc, openai.RateLimitError):
        return CallOutcome.RATE_LIMITED
    if isinstance(exc, openai.APIStatusError):
        return CallOutcome.SERVER_ERROR if exc.status_code >= 500 else CallOutcome.CLIENT_ERROR
    if isinstance(exc, openai.APIConnectionError):
        return CallOutcome.CONNECTION_ERROR
    return CallOutcome.CLIENT_ERROR


_RETRYABLE = frozenset({CallOutcome.RATE_LIMITED, CallOutcome.SERVER_ERROR, CallOutcome.CONNECTION_ERROR})


def retryable(exc: BaseException) -> bool:
    """Worth another attempt: throttling, a server error, a refused connection; never a timeout, and
    never a 429 that says the quota is spent (waiting does not refill it)."""
    if isinstance(exc, openai.RateLimitError) and getattr(exc, "code", None) == "insufficient_quota":
        return False
    return classify(exc) in _RETRYABLE


class OpenAIChatModel:
    """One configured endpoint (a `ChatModel`)."""

    def __init__(
        self,
        client: AsyncOpenAI,
        settings: ModelSettings,
        on_close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.client = client
        self._settings = settings
        self._on_close = on_close
        self._retries = BoundedRetries(
            max_retries=settings.max_retries,
            backoff_initial_seconds=settings.backoff_initial_seconds,
            backoff_max_seconds=settings.backoff_max_seconds,
            min_attempt_seconds=settings.min_attempt_seconds,
        )

    @property
    def endpoint(self) -> str:
        return str(self.client.base_url)

    async def complete(
        self,
        messages: list[ChatMessage],
        *,
        model: str,
        temperature: float,
        max_tokens: int,
        deadline: float,
    ) -> Completion:
        """Ask the model within the retry rules above until `deadline` (a `time.monotonic()` value).

        Raises `EndpointFailed` when no answer came in time.
        """
        deployment = self._settings.deployment(model) if isinstance(self.client, AsyncAzureOpenAI) else model

        async def attempt() -> Completion:
            return await self._attempt(messages, deployment, temperature, max_tokens, deadline)

        try:
            return await self._retries.run(attempt, deadline=deadline, retryable=retryable)
        except TimeoutError as exc:
            raise EndpointFailed(CallOutcome.TIMEOUT, str(exc) or "deadline reached") from exc
        except openai.OpenAIError as exc:
            raise EndpointFailed(classify(exc), type(exc).__name__) from exc

    async def _attempt(
        self,
        messages: list[ChatMessage],
        model: str,
        temperature: float,
        max_tokens: int,
        deadline: float,
    ) -> Completion:
        settings = self._settings
        timeout = min(settings.timeout_seconds, max(deadline - time.monotonic(), 0.001))
        extra: dict[str, Any] = {}
        if settings.json_mode:
            extra["response_format"] = {"type": "json_object"}
        started = time.perf_counter()
        try:
            response = await self.client.chat.completions.create(
                messages=messages,  # type: ignore[arg-type]
                model=model,
                temperature=temperature,
                max_completion_tokens=max_tokens,
                timeout=openai.Timeout(timeout, connect=min(settings.connect_timeout_seconds, timeout)),
                **extra,
            )
        except openai.OpenAIError as exc:
            outcome = classify(exc)
            LLM_CALLS.labels(outcome.value).inc()
            _log.warning(
                "llm_call_failed",
                outcome=outcome.value,
                error_type=type(exc).__name__,
                status=getattr(exc, "status_code", None),
                retry_after=retry_after_seconds(exc),
            )
            raise
        finally:
            LLM_SECONDS.labels(model).observe(time.perf_counter() - started)
        LLM_CALLS.labels(CallOutcome.SUCCESS.value).inc()
        usage = response.usage
        content = response.choices[0].message.content if response.choices else None
        return Completion(
            text=content or "",
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            model=response.model or model,
        )

    async def close(self) -> None:
        await self.client.close()
        if self._on_close is not None:
            await self._on_close()


TokenProvider = Callable[[], Awaitable[str]]


def _managed_identity_token(settings: ModelSettings) -> tuple[TokenProvider, Callable[[], Awaitable[None]]]:
    """Entra ID tokens for Azure OpenAI from the app's managed identity (or the default credential chain
    elsewhere), refreshed by the SDK as they expire; the second item closes the credential."""
    from azure.identity.aio import DefaultAzureCredential, get_bearer_token_provider

    credential = DefaultAzureCredential(managed_identity_client_id=settings.azure_client_id)
    return get_bearer_token_provider(credential, AZURE_SCOPE), credential.close


def _timeout(settings: ModelSettings) -> openai.Timeout:
    return openai.Timeout(settings.timeout_seconds, connect=settings.connect_timeout_seconds)


def azure_model(settings: ModelSettings, key: str | None) -> OpenAIChatModel:
    """Azure OpenAI with `key`, or with the managed identity's tokens when `key` is None."""
    assert settings.azure_endpoint is not None
    token_provider: TokenProvider | None = None
    close_credential: Callable[[], Awaitable[None]] | None = None
    if key is None:
        token_provider, close_credential = _managed_identity_token(settings)
    client = AsyncAzureOpenAI(
        azure_endpoint=settings.azure_endpoint,
        api_version=settings.azure_api_version,
        api_key=key,
        azure_ad_token_provider=token_provider,
        timeout=_timeout(settings),
        max_retries=0,
    )
    return OpenAIChatModel(client, settings, close_credential)


def openai_model(settings: ModelSettings, key: str | None) -> OpenAIChatModel:
    """OpenAI, or any OpenAI-compatible endpoint at `openai_base_url` (a local one may need no key)."""
    client = AsyncOpenAI(
        base_url=settings.openai_base_url or OPENAI_DEFAULT_BASE_URL,
        api_key=key or "unused",
        timeout=_timeout(settings),
        max_retries=0,
    )
    return OpenAIChatModel(client, settings)
