"""What a service may ask of a chat model, and what it gets back (plain Python, no SDK).

`ChatModel` is the endpoint: any model name, chat messages, a deadline. It returns a `Completion` or
raises `EndpointFailed` with the `CallOutcome` that ended the call, and never runs past the deadline.
`PinnedModel` is the shape of a background task's model (the evaluator's judge and FAQ drafter): one
model name and a time limit per call, one system and one user message. `pin` makes one from a
`ChatModel`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, Protocol, TypedDict


class ChatMessage(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


class CallOutcome(StrEnum):
    """How one attempt at a model call ended (the `outcome` label of `helpdesk_llm_calls_total`)."""

    SUCCESS = "success"
    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    CONNECTION_ERROR = "connection_error"
    CLIENT_ERROR = "client_error"


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    model: str = ""
    """The model the endpoint says answered (an Azure deployment reports its underlying model); empty
    when it does not say."""


class EndpointFailed(Exception):
    """The model gave no answer within the deadline; `outcome` says why (for metrics and fallbacks)."""

    def __init__(self, outcome: CallOutcome, detail: str = "") -> None:
        super().__init__(f"{outcome.value}: {detail}" if detail else outcome.value)
        self.outcome = outcome


class ChatModel(Protocol):
    """One configured endpoint."""

    @property
    def endpoint(self) -> str:
        """Where calls go (for logs and tests)."""
        ...

    async def complete(
        self,
        messages: list[ChatMessage],
        *,
        model: str,
        temperature: float,
        max_tokens: int,
        deadline: float,
    ) -> Completion:
        """The model's reply, or `EndpointFailed` by `deadline` (a `time.monotonic()` value), retries
        included."""
        ...

    async def close(self) -> None: ...


class PinnedModel(Protocol):
    """A model used under one name, each call limited in time: what background tasks hold."""

    @property
    def name(self) -> str:
        """The model name calls use (and prices and records name)."""
        ...

    async def complete(self, system: str, user: str, *, temperature: float, max_tokens: int) -> Completion:
        """The reply to one system and one user message; raises `EndpointFailed` when there is none in
        time."""
        ...


@dataclass(frozen=True, slots=True)
class Pinned:
    chat: ChatModel
    name: str
    timeout_seconds: float

    async def complete(self, system: str, user: str, *, temperature: float, max_tokens: int) -> Completion:
        return await self.chat.complete(
            [{"role": "system", "content": system}, {"role": "user", "content": user}],
            model=self.name,
            temperature=temperature,
            max_tokens=max_tokens,
            deadline=time.monotonic() + self.timeout_seconds,
        )


def pin(chat: ChatModel, name: str, timeout_seconds: float) -> PinnedModel:
    """`chat` under the model name `name`, each call ending within `timeout_seconds`."""
    return Pinned(chat, name, timeout_seconds)
