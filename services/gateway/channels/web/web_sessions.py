"""Web chat sessions: a signed, short-lived token per visitor of the chat page, standing in for an API key.

Every visitor gets a user of their own (`web:<uuid>`), so rate limits, conversation ownership and
feedback work per visitor exactly as for API users, without an anonymous mode. The token is ours alone
(issued and verified by the gateway), so an HMAC-signed JWT (PyJWT, HS256) with the `web-session-key`
secret is enough; every replica reads the same secret and accepts every other replica's tokens. A
session is renewed by presenting the still-valid token, which keeps the user (and their conversation)
while the page stays open; an expired token cannot be renewed, the page starts a new session instead.

Where anonymous calls are allowed (local runs), each anonymous API client gets an identity of its own
the same way (`anonymous:<uuid>`), carried in a cookie rather than a header so that `curl -c/-b` and
browsers keep it without being told. It is signed with a key derived from the same secret (HMAC of the
secret with a fixed label), so the two kinds of token can never stand in for each other, and one
secret in the store still covers both.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import jwt

from helpdesk.auth import ANONYMOUS_USER_PREFIX, WEB_USER_PREFIX, Principal, Role
from helpdesk.dapr.ports import SidecarUnavailable
from services.gateway.gateway_errors import AnonymousAccessOff, HelpdeskUnavailable, WebChatOff
from services.gateway.ratelimit import Limit, RateLimiter

ISSUER = "helpdesk-gateway"
AUDIENCE = "helpdesk-web-chat"
ANONYMOUS_AUDIENCE = "helpdesk-anonymous-client"
ANONYMOUS_KEY_LABEL = b"helpdesk anonymous client identity v1"
ALGORITHM = "HS256"
LEEWAY_SECONDS = 5
"""Clock skew tolerated between the replica that issued a token and the one checking it."""
MIN_KEY_BYTES = 32
"""HS256 wants a key at least as long as its output (RFC 7518 section 3.2)."""


@dataclass(frozen=True, slots=True)
class WebSession:
    token: str
    user_id: str
    expires_at: datetime
    expires_in: int
    """Seconds from issue to expiry: what a client counts down with its own clock."""


@dataclass(frozen=True, slots=True)
class AnonymousIdentity:
    principal: Principal
    token: str | None = None
    """A token to hand back to the client (a new identity, or one renewed past half its life); None when
    the client's own is still good for a while."""


class WebSessions:
    """Issues and verifies web session tokens; without a signing key, web chat is switched off."""

    def __init__(
        self, signing_key: str | None, ttl_seconds: int, clock: Callable[[], float] = time.time
    ) -> None:
        self._key = signing_key.encode() if signing_key else None
        if self._key is not None and len(self._key) < MIN_KEY_BYTES:
            raise ValueError(f"the web session key must have at least {MIN_KEY_BYTES} bytes")
        self._anonymous_key = (
            hmac.new(self._key, ANONYMOUS_KEY_LABEL, hashlib.sha256).digest() if self._key else None
        )
        self.ttl_seconds = ttl_seconds
        self._now = clock

    @property
    def enabled(self) -> bool:
        return self._key is not None

    def issue(self, renewing: Principal | None = None) -> WebSession:
        """A session for a new visitor, or a fresh token for the visitor presenting `renewing`."""
        if self._key is None:
            raise WebChatOff()
        user_id = renewing.user_id if renewing is not None else f"{WEB_USER_PREFIX}{uuid.uuid4()}"
        issued_at = int(self._now())
        expires_at = issued_at + self.ttl_seconds
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": user_id, "iat": issued_at, "exp": expires_at}
        token = jwt.encode(claims, self._key, algorithm=ALGORITHM)
        return WebSession(
            token=token,
            user_id=user_id,
            expires_at=datetime.fromtimestamp(expires_at, UTC),
            expires_in=self.ttl_seconds,
        )

    def verify(self, token: str) -> Principal | None:
        claims = self._claims(token, self._key, AUDIENCE, WEB_USER_PREFIX)
        if claims is None:
            return None
        return Principal(user_id=str(claims["sub"]), roles=frozenset({Role.USER}))

    def renewal_of(self, authorization: str | None) -> Principal | None:
        """The web visitor renewing their session, if `Authorization` carries a valid session token; any
        other credential (or an expired token) starts a new visitor."""
        scheme, _, credential = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            return None
        return self.verify(credential.strip())

    def anonymous(self, token: str | None, ttl_seconds: int) -> AnonymousIdentity:
        """The anonymous client presenting `token` (its cookie), or a new one when the token is absent,
        forged, expired or signed with another key. A token past half its life is renewed, so a client
        in use keeps its identity and one left alone for `ttl_seconds` starts afresh."""
        if self._anonymous_key is None:
            raise AnonymousAccessOff()
        claims = self._claims(token, self._anonymous_key, ANONYMOUS_AUDIENCE, ANONYMOUS_USER_PREFIX)
        if claims is None:
            user_id = f"{ANONYMOUS_USER_PREFIX}{uuid.uuid4()}"
        else:
            user_id = str(claims["sub"])
            expires = claims["exp"]
            if isinstance(expires, int) and expires - self._now() > ttl_seconds / 2:
                return AnonymousIdentity(Principal(user_id=user_id))
        issued_at = int(self._now())
        claims = {
            "iss": ISSUER,
            "aud": ANONYMOUS_AUDIENCE,
            "sub": user_id,
            "iat": issued_at,
            "exp": issued_at + ttl_seconds,
        }
        fresh = jwt.encode(claims, self._anonymous_key, algorithm=ALGORITHM)
        return AnonymousIdentity(Principal(user_id=user_id), fresh)

    def _claims(
        self, token: str | None, key: bytes | None, audience: str, prefix: str
    ) -> dict[str, object] | None:
        """The claims of a valid, unexpired token of this kind, or None."""
        if key is None or not token:
            return None
        try:
            claims: dict[str, object] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=audience,
                issuer=ISSUER,
                leeway=LEEWAY_SECONDS,
                options={
                    "require": ["exp", "iat", "sub", "iss", "aud"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError:
            return None
        if self._expired(claims):
            return None
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject.startswith(prefix):
            return None
        return claims

    def _expired(self, claims: dict[str, object]) -> bool:
        """Expiry against this object's clock (PyJWT would use the system clock), so that it is one
        check, and tests can move time instead of sleeping."""
        expires = claims.get("exp")
        return not isinstance(expires, int) or expires + LEEWAY_SECONDS <= self._now()


class SessionStarts:
    """The limit on web sessions started or renewed per client address and window: a session is free to
    get, so the address is what a flood of them is counted by."""

    def __init__(self, limiter: RateLimiter, per_address: int, retry_after_seconds: int) -> None:
        self._limiter = limiter
        self._per_address = per_address
        self._retry_after = retry_after_seconds

    async def admit(self, address: str) -> None:
        try:
            await self._limiter.admit([Limit(f"web-sessions:ip:{address}", self._per_address)])
        except SidecarUnavailable:
            raise HelpdeskUnavailable("start web chat sessions", self._retry_after) from None
