"""A gateway app on in-memory ports, with an optional stand-in for nlp + dialogue that answers every
request (through the gateway's own subscription code paths)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient
from pydantic import SecretStr

from helpdesk.events import (
    AnswerMode,
    ChatAnswered,
    ChatEscalated,
    ChatRequested,
    Contract,
    EscalationReason,
    Language,
)
from helpdesk.memory_ports import MemoryBus, MemoryStateStore, memory_runtime
from helpdesk.runtime import Runtime, flag_defaults
from helpdesk.settings import ServiceSettings
from helpdesk_ops.seed import local_secrets
from services.gateway.app import create_app
from services.gateway.channels.web.web_sessions import WebSessions
from services.gateway.composition import GatewayParts
from services.gateway.settings import GatewaySettings
from tests.support.events import envelope

APP_TOKEN = "app-token-for-tests"
USER_KEY = "hd_user_key_for_tests"
OPERATOR_KEY = "hdop_operator_key_for_tests"


@dataclass
class GatewayUnderTest:
    client: TestClient
    bus: MemoryBus
    state: MemoryStateStore
    runtime: Runtime
    settings: GatewaySettings

    @property
    def parts(self) -> GatewayParts:
        """The parts the running app composed (its desks, channels and credentials)."""
        parts: GatewayParts = self.client.app.state.parts  # type: ignore[attr-defined]
        return parts

    def use_web_sessions(self, sessions: WebSessions) -> None:
        """Serve callers and /v1/sessions with these web sessions (another key, or a clock the test
        moves) instead of the ones built from the secret store."""
        app = self.client.app
        app.state.parts = replace(self.parts, web_sessions=sessions)  # type: ignore[attr-defined]

    @property
    def web_sessions(self) -> WebSessions:
        return self.parts.web_sessions

    def auth(self, key: str = USER_KEY) -> dict[str, str]:
        return {"authorization": f"Bearer {key}"}

    def published(self, kind: type[Contract] | None = None) -> list[Contract]:
        return [e for _, e in self.bus.published if kind is None or isinstance(e, kind)]

    def deliver(self, event: Contract, topic: str) -> dict[str, Any]:
        """Hand an event to the gateway's competing subscription, as daprd would."""
        response = self.client.post(
            f"/events/pubsub/{topic}", json=envelope(event, topic), headers={"dapr-api-token": APP_TOKEN}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def answer_for(request: ChatRequested, text: str = "Here is how.") -> ChatAnswered:
    return ChatAnswered(
        turn_id=request.turn_id,
        conversation_id=request.conversation_id,
        channel=request.channel,
        language=Language.EN,
        question=request.text,
        answer=text,
        mode=AnswerMode.FAQ,
        cited_faq_ids=["kb-001"],
    )


def escalation_for(
    request: ChatRequested,
    *,
    summary: str,
    turn_id: UUID | None = None,
    question: str | None = None,
    message: str = "A person will take over.",
) -> ChatEscalated:
    """What dialogue publishes when the user asked for a person: by default for the request's own turn
    and question."""
    return ChatEscalated(
        turn_id=turn_id or request.turn_id,
        conversation_id=request.conversation_id,
        channel=request.channel,
        language=Language.EN,
        reason=EscalationReason.USER_ASKED,
        question=request.text if question is None else question,
        summary=summary,
        message=message,
    )


@contextmanager
def gateway(*, answering: bool = True, **settings: object) -> Iterator[GatewayUnderTest]:
    bus = MemoryBus()
    state = MemoryStateStore()
    defaults = {
        "chat_wait_seconds": 2.0,
        "app_api_token": SecretStr(APP_TOKEN),
        "environment": "test",
    }
    gateway_settings = GatewaySettings(**(defaults | settings))  # type: ignore[arg-type]
    runtime = memory_runtime(
        "gateway",
        bus=bus,
        state=state,
        flags=flag_defaults(ServiceSettings()),
        secrets=local_secrets(USER_KEY, OPERATOR_KEY),
    )
    app = create_app(gateway_settings, runtime=runtime)

    if answering:

        async def answer(event: Contract) -> None:
            assert isinstance(event, ChatRequested)
            answered = answer_for(event)
            parts: GatewayParts = app.state.parts
            await parts.answers.complete(answered)
            await parts.answers.wake(answered)

        bus.subscribe(ChatRequested.topic, answer)

    with TestClient(app) as client:
        yield GatewayUnderTest(
            client=client, bus=bus, state=state, runtime=runtime, settings=gateway_settings
        )
