"""Builders shared by the generation tests.

Deadlines here are short (a 1 s client timeout inside a 2 s deadline) so that the slow-endpoint tests
finish quickly; the assertions never depend on how fast this machine is, only on "before the deadline
plus a margin".
"""

from __future__ import annotations

from typing import Any

from helpdesk.dapr.ports import KeyValueStore
from helpdesk.events import Language
from helpdesk.llm.settings import ModelSettings
from helpdesk.memory_ports import MemorySecrets, MemoryStateStore
from services.dialogue.generation import FaqContext, GenerationRequest, GenerationSettings, Generator
from tests.support.openai_server import OpenAITestServer

API_KEY = "sk-test-from-the-secret-store"

FAQ_EN = (
    FaqContext(
        "faq-password",
        "How do I reset my password?",
        "Open the sign-in page and choose 'Forgot password'; a reset link is e-mailed to you.",
    ),
    FaqContext(
        "faq-vpn", "How do I connect to the VPN?", "Install the VPN client from the self-service portal."
    ),
)
FAQ_JA = (
    FaqContext(
        "faq-password",
        "パスワードを再設定するには？",
        "サインイン画面で「パスワードをお忘れの場合」を選ぶと、再設定用のリンクがメールで届きます。",
    ),
)

FAST: dict[str, Any] = {
    "timeout_seconds": 1.0,
    "connect_timeout_seconds": 0.5,
    "deadline_seconds": 2.0,
    "max_retries": 2,
    "backoff_initial_seconds": 0.05,
    "backoff_max_seconds": 0.2,
    "min_attempt_seconds": 0.1,
    "breaker_failure_threshold": 3,
    "breaker_reset_seconds": 0.3,
}


def settings_for(server: OpenAITestServer, **overrides: Any) -> tuple[ModelSettings, GenerationSettings]:
    """The model stack's settings and generation's, each taking the overrides that name its fields."""
    values = {"openai_base_url": server.base_url, **FAST, **overrides}
    model = {k: v for k, v in values.items() if k in ModelSettings.model_fields}
    generation = {k: v for k, v in values.items() if k in GenerationSettings.model_fields}
    assert set(model) | set(generation) == set(values), "an override names no setting"
    return ModelSettings(**model), GenerationSettings(**generation)


async def open_generator(
    server: OpenAITestServer,
    store: KeyValueStore | None = None,
    secrets: dict[str, str] | None = None,
    **overrides: Any,
) -> Generator:
    return await Generator.open(
        *settings_for(server, **overrides),
        store if store is not None else MemoryStateStore(),
        MemorySecrets({"openai-api-key": API_KEY} if secrets is None else secrets),
    )


def ask(
    question: str = "How do I reset my password?",
    *,
    language: Language = Language.EN,
    context: tuple[FaqContext, ...] = FAQ_EN,
    prompt: str = "grounded",
    model: str = "gpt-4o-mini",
    user_id: str = "user-1",
    conversation_id: str = "conversation-1",
    kb_version: str | None = "kb-1",
    injection_suspected: bool = False,
) -> GenerationRequest:
    return GenerationRequest(
        question=question,
        language=language,
        context=context,
        prompt=prompt,
        model=model,
        user_id=user_id,
        conversation_id=conversation_id,
        kb_version=kb_version,
        injection_suspected=injection_suspected,
    )
