"""A local stand-in for the Bot Framework's token signing: OpenID metadata and a JWKS over real HTTPS,
and tokens minted with keys generated here (valid ones, and each kind of invalid one).

- `GET /v1/.well-known/openidconfiguration` names the `jwks_uri`;
- `GET /v1/.well-known/keys` serves the published keys with their `endorsements` (channels each key
  may sign for), and counts how often it was fetched;
- `mint(...)` signs a channel token the way the Bot Framework does (RS256, `kid`, `iss`, `aud` = the
  bot's app id, `serviceurl`, `nbf`/`exp`); its arguments make the invalid variants; `rotate()`
  publishes a new signing key.

    with BotFrameworkKeyServer(certificates) as keys:
        token = keys.mint(app_id, service_url)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.tls import TestCertificates, TlsServer

ISSUER = "https://api.botframework.com"
HMAC_SECRET = "a-shared-secret-that-no-bot-framework-token-would-use"


@dataclass
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey
    endorsements: list[str]
    published: bool = True

    def jwk(self) -> dict[str, Any]:
        data: dict[str, Any] = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return data | {"kid": self.kid, "use": "sig", "endorsements": list(self.endorsements)}


def _new_key(kid: str, endorsements: list[str], published: bool = True) -> SigningKey:
    return SigningKey(
        kid, rsa.generate_private_key(public_exponent=65537, key_size=2048), endorsements, published
    )


@dataclass
class BotFrameworkKeyServer:
    certificates: TestCertificates
    keys: list[SigningKey] = field(default_factory=list)
    metadata_fetches: int = 0
    key_fetches: int = 0
    _server: TlsServer | None = None

    def __post_init__(self) -> None:
        if not self.keys:
            self.keys = [
                _new_key("teams-key-1", ["msteams", "webchat"]),
                _new_key("webchat-only", ["webchat"]),
                _new_key("never-published", ["msteams"], published=False),
            ]

    # ---- addresses -------------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        assert self._server is not None
        return self._server.origin

    @property
    def metadata_url(self) -> str:
        return f"{self.origin}/v1/.well-known/openidconfiguration"

    # ---- tokens ----------------------------------------------------------------------------------

    def key(self, kid: str) -> SigningKey:
        return next(k for k in self.keys if k.kid == kid)

    def rotate(self, endorsements: list[str] | None = None) -> str:
        """Publish a new signing key (the old ones stay published, as during a real rollover)."""
        kid = f"teams-key-{len(self.keys) + 1}"
        self.keys.append(_new_key(kid, endorsements or ["msteams"]))
        return kid

    def mint(
        self,
        app_id: str,
        service_url: str | None,
        *,
        kid: str = "teams-key-1",
        issuer: str = ISSUER,
        audience: str | None = None,
        lifetime: float = 3600,
        issued_ago: float = 0,
        algorithm: str = "RS256",
        extra: dict[str, Any] | None = None,
    ) -> str:
        now = time.time() - issued_ago
        claims: dict[str, Any] = {
            "iss": issuer,
            "aud": audience or app_id,
            "nbf": int(now - 5),
            "iat": int(now),
            "exp": int(now + lifetime),
        }
        if service_url is not None:
            claims["serviceurl"] = service_url
        claims |= extra or {}
        headers = {"kid": kid, "typ": "JWT"}
        if algorithm == "none":
            return jwt.encode(claims, None, algorithm="none", headers=headers)
        if algorithm.startswith("HS"):
            return jwt.encode(claims, HMAC_SECRET, algorithm=algorithm, headers=headers)
        return jwt.encode(claims, self.key(kid).private, algorithm=algorithm, headers=headers)

    # ---- HTTP ------------------------------------------------------------------------------------

    async def _metadata(self, _: Request) -> JSONResponse:
        self.metadata_fetches += 1
        return JSONResponse(
            {
                "issuer": ISSUER,
                "authorization_endpoint": f"{self.origin}/v1/authorize",
                "jwks_uri": f"{self.origin}/v1/.well-known/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        )

    async def _keys(self, _: Request) -> JSONResponse:
        self.key_fetches += 1
        return JSONResponse({"keys": [k.jwk() for k in self.keys if k.published]})

    def start(self) -> BotFrameworkKeyServer:
        app = Starlette(
            routes=[
                Route("/v1/.well-known/openidconfiguration", self._metadata, methods=["GET"]),
                Route("/v1/.well-known/keys", self._keys, methods=["GET"]),
            ]
        )
        self._server = TlsServer(app, self.certificates, "bot-framework-key-server")
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()

    def __enter__(self) -> BotFrameworkKeyServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
