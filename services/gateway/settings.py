from __future__ import annotations

from pydantic import Field

from helpdesk.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    chat_wait_seconds: float = Field(
        default=10.0, ge=0, description="How long POST /v1/chat waits for the answer before answering 202."
    )
    max_body_bytes: int = Field(default=64 * 1024, gt=0)
    turn_retention_seconds: int = Field(default=7 * 24 * 3600, gt=0)
    allow_anonymous: bool = Field(
        default=False,
        description="Accept API calls without a credential (local runs only); they share one anonymous user.",
    )
    retry_after_seconds: int = Field(default=5, gt=0)
    rate_limit_window_seconds: int = Field(default=60, gt=0)
    rate_limit_per_user: int = Field(default=30, ge=0, description="Chats per user per window (0: off).")
    rate_limit_per_key: int = Field(default=600, ge=0, description="Chats per API key per window (0: off).")
    idempotency_ttl_seconds: int = Field(default=24 * 3600, gt=0)
    cors_origins: list[str] = Field(default_factory=list, description="Origins allowed to call the API.")
