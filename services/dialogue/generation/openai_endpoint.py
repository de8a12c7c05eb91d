"""The OpenAI or Azure OpenAI chat client with the helpdesk's own retry rules (loaded by
`llm.connect` only when an endpoint is configured).

The SDK's built-in retries are switched off (`max_retries=0`) because they cannot be bounded by the
turn's deadline. Instead each call here:
- uses an explicit client timeout per attempt, never longer than what is left of the deadline;
- retries only what a retry can fix (429, 5xx, a refused connection), at most `max_retries` times,
  waiting what the server asked for (`Retry-After`, `retry-after-ms`) or an exponential back-off with
  jitter, and gives up at once when that wait would overrun the deadline;
- never retries a timeout: a slow endpoint asked twice is twice as slow and pays twice (F6).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import openai
from openai import AsyncAzureOpenAI, AsyncOpenAI
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential_jitter,
)

from helpdesk.logging import get_logger
from services.dialogue.generation.llm import (
    AZURE_SCOPE,
    OPENAI_DEFAULT_BASE_URL,
    CallOutcome,
    Completion,
    EndpointFailed,
    retry_after_seconds,
)
from services.dialogue.generation.metrics import LLM_CALLS, LLM_SECONDS
from services.dialogue.generation.settings import GenerationSettings

_log = get_logger(__name__)


def classify(exc: BaseException) -> CallOutcome:
    if isinstance(exc, openai.APITimeoutError | TimeoutError):
        return "timeout"
    if isinstance(exc, openai.RateLimitError):
        return "rate_limited"
    if isinstance(exc, openai.APIStatusError):
        return "server_error" if exc.status_code >= 500 else "client_error"
    if isinstance(exc, openai.APIConnectionError):
        return "connection_error"
    return "client_error"


def retryable(exc: BaseException) -> bool:
    """Worth another attempt: throttling, a server error, a refused connection; never a timeout, and
    never a 429 that says the quota is spent (waiting does not refill it)."""
    if isinstance(exc, openai.RateLimitError) and getattr(exc, "code", None) == "insufficient_quota":
        return False
    return classify(exc) in ("rate_limited", "server_error", "connection_error")


class ChatModel:
    """One configured endpoint. `complete` is the only call the generator makes."""

    def __init__(
        self,
        client: AsyncOpenAI,
        settings: GenerationSettings,
        on_close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.client = client
        self._settings = settings
        self._on_close = on_close
        self._backoff = wait_exponential_jitter(
            multiplier=settings.backoff_initial_seconds,
            jitter=settings.backoff_initial_seconds,
            max=settings.backoff_max_seconds,
        )

    @property
    def endpoint(self) -> str:
        return str(self.client.base_url)

    def _wait(self, state: RetryCallState) -> float:
        hinted = retry_after_seconds(state.outcome.exception() if state.outcome else None)
        return hinted if hinted is not None else float(self._backoff(state))

    async def complete(
        self,
        messages: list[dict[str, str]],
        *,
        model: str,
        temperature: float,
        max_tokens: int,
        deadline: float,
    ) -> Completion:
        """Ask the model, retrying within the rules above, until `deadline` (a `time.monotonic()` value).

        Raises `EndpointFailed` when no answer came in time.
        """
        settings = self._settings
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise EndpointFailed("timeout", "no time left")
        retrying = AsyncRetrying(
            retry=retry_if_exception(retryable),
            stop=stop_after_attempt(1 + settings.max_retries)
            | stop_before_delay(max(remaining - settings.min_attempt_seconds, 0.0)),
            wait=self._wait,
            reraise=True,
        )
        deployment = settings.deployment(model) if isinstance(self.client, AsyncAzureOpenAI) else model
        try:
            async with asyncio.timeout(remaining):
                async for attempt in retrying:
                    with attempt:
                        return await self._attempt(messages, deployment, temperature, max_tokens, deadline)
        except TimeoutError as exc:
            raise EndpointFailed("timeout", "deadline reached") from exc
        except openai.OpenAIError as exc:
            raise EndpointFailed(classify(exc), type(exc).__name__) from exc
        raise AssertionError("unreachable: tenacity either returns or re-raises")

    async def _attempt(
        self,
        messages: list[dict[str, str]],
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
            LLM_CALLS.labels(outcome).inc()
            _log.warning(
                "llm_call_failed",
                outcome=outcome,
                error_type=type(exc).__name__,
                status=getattr(exc, "status_code", None),
                retry_after=retry_after_seconds(exc),
            )
            raise
        finally:
            LLM_SECONDS.labels(model).observe(time.perf_counter() - started)
        LLM_CALLS.labels("success").inc()
        usage = response.usage
        content = response.choices[0].message.content if response.choices else None
        return Completion(
            content=content or "",
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            model=response.model or model,
        )

    async def close(self) -> None:
        await self.client.close()
        if self._on_close is not None:
            await self._on_close()


TokenProvider = Callable[[], Awaitable[str]]


def _managed_identity_token(
    settings: GenerationSettings,
) -> tuple[TokenProvider, Callable[[], Awaitable[None]]]:
    """Entra ID tokens for Azure OpenAI from the app's managed identity (or the default credential chain
    elsewhere), refreshed by the SDK as they expire; the second item closes the credential."""
    from azure.identity.aio import DefaultAzureCredential, get_bearer_token_provider

    credential = DefaultAzureCredential(managed_identity_client_id=settings.azure_client_id)
    return get_bearer_token_provider(credential, AZURE_SCOPE), credential.close


def _timeout(settings: GenerationSettings) -> openai.Timeout:
    return openai.Timeout(settings.timeout_seconds, connect=settings.connect_timeout_seconds)


def azure_model(settings: GenerationSettings, key: str | None) -> ChatModel:
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
    return ChatModel(client, settings, close_credential)


def openai_model(settings: GenerationSettings, key: str | None) -> ChatModel:
    """OpenAI, or any OpenAI-compatible endpoint at `openai_base_url` (a local one may need no key)."""
    client = AsyncOpenAI(
        base_url=settings.openai_base_url or OPENAI_DEFAULT_BASE_URL,
        api_key=key or "unused",
        timeout=_timeout(settings),
        max_retries=0,
    )
    return ChatModel(client, settings)
