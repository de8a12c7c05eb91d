"""Bounded retries of one call within a deadline, on tenacity.

What `BoundedRetries.run(attempt, deadline=..., retryable=...)` guarantees: it returns the first
successful attempt's result or raises, and it does so by `deadline` (a `time.monotonic()` value): the
whole loop runs under `asyncio.timeout`, and reaching the deadline raises `TimeoutError`. It makes at
most `1 + max_retries` attempts. It retries only an error `retryable` accepts; any other error, and the
last retryable one, is re-raised unchanged. Between attempts it waits what the server asked for
(`retry-after-ms`, or `Retry-After` in seconds or as an HTTP date) or else an exponential back-off with
jitter (from `backoff_initial_seconds`, capped at `backoff_max_seconds`), and it starts no retry whose
wait would end with less than `min_attempt_seconds` left before the deadline: then the last error is
raised at once instead of sleeping into the deadline. It keeps no state between calls.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from email.utils import parsedate_to_datetime
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential_jitter,
)

T = TypeVar("T")


def retry_after_seconds(exc: BaseException | None) -> float | None:
    """What the server asked us to wait, from `retry-after-ms` or `retry-after` (seconds or HTTP date),
    read from the HTTP response an error carries (`exc.response.headers`)."""
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


class BoundedRetries:
    def __init__(
        self,
        *,
        max_retries: int,
        backoff_initial_seconds: float,
        backoff_max_seconds: float,
        min_attempt_seconds: float,
    ) -> None:
        self.max_retries = max_retries
        self.min_attempt_seconds = min_attempt_seconds
        self._backoff = wait_exponential_jitter(
            multiplier=backoff_initial_seconds, jitter=backoff_initial_seconds, max=backoff_max_seconds
        )

    def _wait(self, state: RetryCallState) -> float:
        hinted = retry_after_seconds(state.outcome.exception() if state.outcome else None)
        return hinted if hinted is not None else float(self._backoff(state))

    async def run(
        self,
        attempt: Callable[[], Awaitable[T]],
        *,
        deadline: float,
        retryable: Callable[[BaseException], bool],
    ) -> T:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no time left")
        retrying = AsyncRetrying(
            retry=retry_if_exception(retryable),
            stop=stop_after_attempt(1 + self.max_retries)
            | stop_before_delay(max(remaining - self.min_attempt_seconds, 0.0)),
            wait=self._wait,
            reraise=True,
        )
        async with asyncio.timeout(remaining):
            async for attempt_state in retrying:
                with attempt_state:
                    return await attempt()
        raise AssertionError("unreachable: tenacity either returns or re-raises")
