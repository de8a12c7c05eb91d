"""A local Bot Connector and token authority over real HTTPS, recording what the gateway sends.

- `POST {service_url}v3/conversations/{id}/activities` records the activity (and answers with an id)
  when it carries a token this server issued; `fail_next(status, times, retry_after=...)` and
  `fail_always(status)` make it answer 429 / 5xx (or anything) instead, and `throttle(seconds,
  retry_after=...)` answers 429 with that `Retry-After` to every activity for a while, as the Bot
  Connector does when it throttles a bot; `calls` keeps every POST with its time and answer;
- the token authority for MSAL's client-credentials flow: `GET /{tenant}/v2.0/.well-known/openid-
  configuration` and `POST /{tenant}/oauth2/v2.0/token`, which checks the app id and password.

    with BotConnectorServer(certificates, app_id, password) as connector:
        ... connector.replies  # the message activities received, in order
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.tls import TestCertificates, TlsServer

SCOPE = "https://api.botframework.com/.default"


@dataclass(frozen=True)
class ReceivedActivity:
    conversation_id: str
    activity: dict[str, Any]
    authorization: str | None
    received_at: float = 0.0
    """time.monotonic() when it arrived."""

    @property
    def type(self) -> str:
        return str(self.activity.get("type"))

    @property
    def text(self) -> str:
        return str(self.activity.get("text") or "")

    @property
    def card(self) -> dict[str, Any] | None:
        for attachment in self.activity.get("attachments") or []:
            if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
                content: dict[str, Any] = attachment["content"]
                return content
        return None

    @property
    def shown_text(self) -> str:
        """What the user reads: the message text, or the card's text blocks."""
        card = self.card
        if card is None:
            return self.text
        return "\n".join(b.get("text", "") for b in card.get("body", []) if b.get("type") == "TextBlock")


@dataclass
class _Failure:
    status: int
    retry_after: str | None


@dataclass(frozen=True)
class ConnectorCall:
    """One POST to the activities endpoint: when (time.monotonic()), to which conversation, what kind of
    activity, and the status it was answered with."""

    at: float
    conversation_id: str
    activity_type: str
    status: int


@dataclass
class BotConnectorServer:
    certificates: TestCertificates
    app_id: str
    password: str
    tenant: str = "botframework.com"
    received: list[ReceivedActivity] = field(default_factory=list)
    attempts: int = 0
    """Every POST to the activities endpoint, including the ones answered with a failure."""
    token_requests: int = 0
    issued_tokens: set[str] = field(default_factory=set)
    calls: list[ConnectorCall] = field(default_factory=list)
    _failures: list[_Failure] = field(default_factory=list)
    _always: _Failure | None = None
    _throttled_until: float = 0.0
    _throttle_retry_after: str | None = None
    _server: TlsServer | None = None

    # ---- switches --------------------------------------------------------------------------------

    def fail_next(self, status: int, times: int = 1, *, retry_after: float | str | None = None) -> None:
        value = None if retry_after is None else str(retry_after)
        self._failures.extend(_Failure(status, value) for _ in range(times))

    def fail_always(self, status: int) -> None:
        self._always = _Failure(status, None)

    def throttle(self, seconds: float, *, retry_after: float | str) -> float:
        """Answer every activity with 429 and `Retry-After: retry_after` for the next `seconds`; returns
        when the throttling ends (time.monotonic())."""
        self._throttle_retry_after = str(retry_after)
        self._throttled_until = time.monotonic() + seconds
        return self._throttled_until

    def reset(self) -> None:
        self.received.clear()
        self.calls.clear()
        self._failures.clear()
        self._always = None
        self._throttled_until = 0.0
        self.attempts = 0
        self.token_requests = 0

    # ---- what arrived ----------------------------------------------------------------------------

    @property
    def replies(self) -> list[ReceivedActivity]:
        return [r for r in self.received if r.type == "message"]

    @property
    def typing(self) -> list[ReceivedActivity]:
        return [r for r in self.received if r.type == "typing"]

    def replies_to(self, conversation_id: str) -> list[ReceivedActivity]:
        return [r for r in self.replies if r.conversation_id == conversation_id]

    # ---- addresses -------------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        assert self._server is not None
        return self._server.origin

    @property
    def service_url(self) -> str:
        return f"{self.origin}/teams/"

    @property
    def authority(self) -> str:
        return f"{self.origin}/{self.tenant}"

    # ---- HTTP ------------------------------------------------------------------------------------

    async def _activities(self, request: Request) -> JSONResponse:
        self.attempts += 1
        now = time.monotonic()
        conversation_id = request.path_params["conversation_id"]
        try:
            body = await request.json()
        except ValueError:
            body = None
        kind = str(body.get("type")) if isinstance(body, dict) else "?"

        def answered(response: JSONResponse) -> JSONResponse:
            self.calls.append(ConnectorCall(now, conversation_id, kind, response.status_code))
            return response

        authorization = request.headers.get("authorization")
        token = (authorization or "").removeprefix("Bearer ").strip()
        if token not in self.issued_tokens:
            return answered(JSONResponse({"error": {"code": "Unauthorized"}}, 401))
        if now < self._throttled_until:
            headers = {"retry-after": self._throttle_retry_after or "1"}
            return answered(JSONResponse({"error": {"code": "TooManyRequests"}}, 429, headers=headers))
        failure = self._failures.pop(0) if self._failures else self._always
        if failure is not None:
            headers = {"retry-after": failure.retry_after} if failure.retry_after is not None else {}
            error = {"error": {"code": f"simulated {failure.status}"}}
            return answered(JSONResponse(error, failure.status, headers=headers))
        self.received.append(ReceivedActivity(conversation_id, body, authorization, now))
        return answered(JSONResponse({"id": f"bot-activity-{len(self.received)}"}, 201))

    async def _openid(self, request: Request) -> JSONResponse:
        tenant = request.path_params["tenant"]
        return JSONResponse(
            {
                "issuer": f"{self.origin}/{tenant}/v2.0",
                "authorization_endpoint": f"{self.origin}/{tenant}/oauth2/v2.0/authorize",
                "token_endpoint": f"{self.origin}/{tenant}/oauth2/v2.0/token",
            }
        )

    async def _token(self, request: Request) -> JSONResponse:
        self.token_requests += 1
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if form.get("grant_type") != "client_credentials" or form.get("scope") != SCOPE:
            return JSONResponse({"error": "unsupported_grant_type"}, 400)
        if form.get("client_id") != self.app_id or form.get("client_secret") != self.password:
            return JSONResponse({"error": "invalid_client"}, 401)
        token = "bot-" + secrets.token_urlsafe(24)
        self.issued_tokens.add(token)
        return JSONResponse({"token_type": "Bearer", "expires_in": 3600, "access_token": token})

    def start(self) -> BotConnectorServer:
        app = Starlette(
            routes=[
                Route(
                    "/teams/v3/conversations/{conversation_id:path}/activities",
                    self._activities,
                    methods=["POST"],
                ),
                Route("/{tenant}/v2.0/.well-known/openid-configuration", self._openid, methods=["GET"]),
                Route("/{tenant}/oauth2/v2.0/token", self._token, methods=["POST"]),
            ]
        )
        self._server = TlsServer(app, self.certificates, "bot-connector-test-server")
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()

    def __enter__(self) -> BotConnectorServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
