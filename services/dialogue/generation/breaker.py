"""A circuit breaker in front of the model endpoint (the `purgatory` library).

After `threshold` failed generations in a row the circuit opens: turns get the FAQ answer at once,
without waiting for a timeout, and the endpoint gets time to recover. After `reset_seconds` the circuit
half-opens: the next call is a trial; success closes it, failure opens it again. The state is per
replica (in memory), which is what is wanted: each replica protects its own deadline.

Only endpoint failures count (timeouts, 429/5xx after retries, refused connections). An answer that the
helpdesk rejects (no citations, a leaked canary) is the model's content, not the endpoint's health.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from services.dialogue.generation.generation_metrics import LLM_BREAKER_OPEN

if TYPE_CHECKING:
    from purgatory import AsyncCircuitBreakerFactory

_CIRCUIT = "llm"


class CircuitOpen(Exception):
    """The endpoint is considered down; no call was made."""


class EndpointBreaker:
    def __init__(self, threshold: int, reset_seconds: float) -> None:
        self._threshold = threshold
        self._reset_seconds = reset_seconds
        self._factory: AsyncCircuitBreakerFactory | None = None
        self.state = "closed"

    def _breakers(self) -> AsyncCircuitBreakerFactory:
        """Made on the first call to the model, so that an offline helpdesk never loads purgatory."""
        if self._factory is None:
            from purgatory import AsyncCircuitBreakerFactory

            self._factory = AsyncCircuitBreakerFactory(
                default_threshold=self._threshold, default_ttl=self._reset_seconds
            )
            self._factory.add_listener(self._on_event)
        return self._factory

    def _on_event(self, name: str, event_type: str, event: Any) -> None:
        if event_type == "state_changed":
            self.state = str(event.state)
            LLM_BREAKER_OPEN.set(1 if self.state == "opened" else 0)

    @asynccontextmanager
    async def guard(self) -> AsyncIterator[None]:
        """Run the block through the circuit; raise `CircuitOpen` instead when it is open."""
        from purgatory.domain.model import OpenedState

        breaker = await self._breakers().get_breaker(_CIRCUIT)
        try:
            async with breaker:
                yield
        except OpenedState as exc:
            raise CircuitOpen(str(exc)) from None
