"""A local Bot Connector and token authority over real HTTPS, recording what the gateway sends.

- `POST {service_url}v3/conversations/{id}/activities` records the activity (and answers with an id)
  when it carries a token this server issued; `fail_next(status, times, retry_after=...)` and
  `fail_always(status)` make it answer 429 / 5xx (or anything) instead;
- the token authority for MSAL's client-credentials flow: `GET /{tenant}/v2.0/.well-known/openid-
  configuration` and `POST /{tenant}/oauth2/v2.0/token`, which checks the app id and password.

    with BotConnectorServer(certificates, app_id, password) as connector:
        ... connector.replies  # the message activities received, in order
"""

from __future__ import annotations

import secrets
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
    _failures: list[_Failure] = field(default_factory=list)
    _always: _Failure | None = None
    _server: TlsServer | None = None

    # ---- switches --------------------------------------------------------------------------------

    def fail_next(self, status: int, times: int = 1, *, retry_after: float | str | None = None) -> None:
        value = None if retry_after is None else str(retry_after)
        self._failures.extend(_Failure(status, value) for _ in range(times))

    def fail_always(self, status: int) -> None:
        self._always = _Failure(status, None)

    def reset(self) -> None:
        self.received.clear()
        self._failures.clear()
        self._always = None
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
        authorization = request.headers.get("authorization")
        token = (authorization or "").removeprefix("Bearer ").strip()
        if token not in self.issued_tokens:
            return JSONResponse({"error": {"code": "Unauthorized"}}, 401)
        failure = self._failures.pop(0) if self._failures else self._always
        if failure is not None:
            headers = {"retry-after": failure.retry_after} if failure.retry_after is not None else {}
            return JSONResponse(
                {"error": {"code": f"simulated {failure.status}"}}, failure.status, headers=headers
            )
        body = await request.json()
        self.received.append(ReceivedActivity(request.path_params["conversation_id"], body, authorization))
        return JSONResponse({"id": f"bot-activity-{len(self.received)}"}, 201)

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
