from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from helpdesk.settings import ServiceSettings


class TeamsSettings(BaseModel):
    """Microsoft Teams (Bot Framework) channel: who may call /api/messages and how replies go out.

    Set from the environment as `HELPDESK_TEAMS__<FIELD>` (lists as JSON). The app password is not here:
    it comes from the secret store (`teams-app-password`).
    """

    model_config = ConfigDict(frozen=True)

    app_id: str | None = Field(
        default=None,
        description="The bot's Microsoft App ID: the audience of inbound tokens. Unset: Teams is off.",
    )
    allowed_tenants: list[str] = Field(
        default_factory=list,
        description='Entra tenant ids whose users may talk to the bot; ["*"] allows any tenant, [] none.',
    )
    openid_metadata_url: str = Field(
        default="https://login.botframework.com/v1/.well-known/openidconfiguration",
        description="Bot Framework OpenID metadata; its jwks_uri holds the keys that sign channel tokens.",
    )
    allowed_issuers: list[str] = Field(default_factory=lambda: ["https://api.botframework.com"])
    channel_id: str = Field(default="msteams", description="The only channel accepted on /api/messages.")
    clock_skew_seconds: int = Field(default=300, ge=0, le=600)
    keys_lifespan_seconds: float = Field(
        default=24 * 3600, gt=0, description="How long fetched signing keys are trusted before a refresh."
    )
    keys_cooldown_seconds: float = Field(
        default=30, ge=0, description="Least time between refreshes forced by an unknown key id."
    )
    authority: str = Field(
        default="https://login.microsoftonline.com/botframework.com",
        description=(
            "Where the bot gets its client-credentials token (MSAL authority). Single-tenant bots: "
            "https://login.microsoftonline.com/<tenant id>."
        ),
    )
    scope: str = "https://api.botframework.com/.default"
    ca_bundle: str | None = Field(
        default=None,
        description="A PEM CA bundle to trust for the keys, token authority and connector (local tests).",
    )
    http_timeout_seconds: float = Field(default=5.0, gt=0)
    reply_attempts: int = Field(
        default=4, ge=1, le=10, description="Attempts per reply before the delivery is retried later."
    )
    reply_backoff_seconds: float = Field(default=0.5, ge=0)
    reply_backoff_max_seconds: float = Field(default=8.0, ge=0)
    retry_after_max_seconds: float = Field(
        default=30.0,
        ge=0,
        description="A longer Retry-After ends the attempts; the delivery is retried later.",
    )
    handler_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description=(
            "The sidecar's timeout for one delivery to the app (`timeouts.handler` in "
            "components/resiliency.yaml and deploy/modules/dapr-components.bicep); keep them equal."
        ),
    )
    handler_reserve_seconds: float = Field(
        default=6.0,
        ge=0,
        description=(
            "The part of the handler timeout kept for the state calls around a send (storing the turn, "
            "the claim, recording the sent reply; the sidecar's state timeout is 2 s each)."
        ),
    )
    activity_retention_seconds: int = Field(default=24 * 3600, gt=0)

    @property
    def send_budget_seconds(self) -> float:
        """How long one delivery may spend on a reply, waits and attempts included: strictly less than
        the handler timeout, so the sidecar never gives up on (and redelivers past) a handler that is
        still sending. A longer wait is handed back to redelivery."""
        return self.handler_timeout_seconds - self.handler_reserve_seconds

    @property
    def claim_lease_seconds(self) -> float:
        """How long a claim on a reply holds without renewal: a whole handler run plus one attempt. A live
        delivery renews it before every attempt and never runs longer than a handler, so only a replica
        that died mid-send loses its claim."""
        return self.handler_timeout_seconds + self.http_timeout_seconds

    @property
    def multi_tenant_authority(self) -> bool:
        """The bot token would come from the multi-tenant authority (`botframework.com`), where a
        single-tenant bot, the only kind Azure creates now, gets no token."""
        return self.authority.rstrip("/").rsplit("/", 1)[-1].lower() == "botframework.com"

    @model_validator(mode="after")
    def _one_attempt_fits(self) -> TeamsSettings:
        if self.send_budget_seconds < self.http_timeout_seconds:
            raise ValueError(
                "handler_timeout_seconds - handler_reserve_seconds must leave room for one connector "
                "attempt (http_timeout_seconds)"
            )
        return self


class GatewaySettings(ServiceSettings):
    chat_wait_seconds: float = Field(
        default=10.0, ge=0, description="How long POST /v1/chat waits for the answer before answering 202."
    )
    max_body_bytes: int = Field(default=64 * 1024, gt=0)
    teams: TeamsSettings = Field(default_factory=TeamsSettings)
    turn_retention_seconds: int = Field(default=7 * 24 * 3600, gt=0)
    allow_anonymous: bool = Field(
        default=False,
        description=(
            "Accept API calls without a credential (local runs only). Each such client is a user of its "
            "own, kept in a signed cookie; a call without the cookie is a new client."
        ),
    )
    anonymous_identity_ttl_seconds: int = Field(
        default=24 * 3600,
        gt=0,
        description="Lifetime of an anonymous client's cookie; renewed while the client keeps calling.",
    )
    retry_after_seconds: int = Field(default=5, gt=0)
    rate_limit_window_seconds: int = Field(default=60, gt=0)
    rate_limit_per_user: int = Field(default=30, ge=0, description="Chats per user per window (0: off).")
    rate_limit_per_key: int = Field(default=600, ge=0, description="Chats per API key per window (0: off).")
    idempotency_ttl_seconds: int = Field(default=24 * 3600, gt=0)
    cors_origins: list[str] = Field(default_factory=list, description="Origins allowed to call the API.")
    web_session_ttl_seconds: int = Field(
        default=3600, gt=0, description="Lifetime of a web chat session token; the page renews it while open."
    )
    web_sessions_per_address: int = Field(
        default=20, ge=0, description="Web sessions issued or renewed per client address per window (0: off)."
    )
    feedback_per_user: int = Field(
        default=30,
        ge=0,
        description="Ratings per user per window (0: off); anonymous clients count per client address.",
    )
    open_handoffs_per_user: int = Field(
        default=3,
        ge=0,
        description="Conversations one user (API key, Teams) may have waiting for a person at once (0: off).",
    )
    open_handoffs_per_session: int = Field(
        default=1,
        ge=0,
        description=(
            "The same for a web chat session or an anonymous client, identities anyone can get (0: off)."
        ),
    )
