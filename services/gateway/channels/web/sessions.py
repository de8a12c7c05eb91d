"""Web chat sessions: a signed, short-lived token per visitor of the chat page, standing in for an API key.

Every visitor gets a user of their own (`web:<uuid>`), so rate limits, conversation ownership and
feedback work per visitor exactly as for API users, without an anonymous mode. The token is ours alone
(issued and verified by the gateway), so an HMAC-signed JWT (PyJWT, HS256) with the `web-session-key`
secret is enough; every replica reads the same secret and accepts every other replica's tokens. A
session is renewed by presenting the still-valid token, which keeps the user (and their conversation)
while the page stays open; an expired token cannot be renewed, the page starts a new session instead.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import jwt

from helpdesk.auth import WEB_USER_PREFIX, Principal, Role
from helpdesk.errors import Problem

ISSUER = "helpdesk-gateway"
AUDIENCE = "helpdesk-web-chat"
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


class WebSessions:
    """Issues and verifies web session tokens; without a signing key, web chat is switched off."""

    def __init__(
        self, signing_key: str | None, ttl_seconds: int, clock: Callable[[], float] = time.time
    ) -> None:
        self._key = signing_key.encode() if signing_key else None
        if self._key is not None and len(self._key) < MIN_KEY_BYTES:
            raise ValueError(f"the web session key must have at least {MIN_KEY_BYTES} bytes")
        self.ttl_seconds = ttl_seconds
        self._now = clock

    @property
    def enabled(self) -> bool:
        return self._key is not None

    def issue(self, renewing: Principal | None = None) -> WebSession:
        """A session for a new visitor, or a fresh token for the visitor presenting `renewing`."""
        if self._key is None:
            raise Problem(503, "Web chat is not configured on this helpdesk.", kind="web-chat-off")
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
        if self._key is None:
            return None
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
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
        if not isinstance(subject, str) or not subject.startswith(WEB_USER_PREFIX):
            return None
        return Principal(user_id=subject, roles=frozenset({Role.USER}))

    def _expired(self, claims: dict[str, object]) -> bool:
        """Expiry against this object's clock (PyJWT would use the system clock), so that it is one
        check, and tests can move time instead of sleeping."""
        expires = claims.get("exp")
        return not isinstance(expires, int) or expires + LEEWAY_SECONDS <= self._now()
