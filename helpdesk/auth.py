"""Who is calling: API keys (stored hashed) with roles, web chat sessions, and anonymous clients for
local runs.

Shared by the gateway (users and operators) and the evaluator (operators). Keys are random,
high-entropy strings, so a SHA-256 digest is enough to store them safely (no password stretching
needed); the tables of digests come from the secret store (`gateway-api-keys`, `operator-keys`:
JSON `{sha256hex: {"user_id": ..., "roles": [...]}}`), never from the repository or the environment.

The web chat page has no API key: the gateway gives each visitor a short-lived signed session token
for a user of its own (`web:<uuid>`). Only the gateway issues and checks those tokens, so the kernel
knows them through `SessionVerifier` alone and does not need the signing library. Where anonymous calls
are allowed, each anonymous client is a user of its own too (`anonymous:<uuid>`, carried in a signed
cookie the gateway hands out), never one user shared by everyone without a credential: a shared user
would let anyone who learns a conversation id read it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from helpdesk.errors import DomainError

ANONYMOUS_USER_PREFIX = "anonymous:"
API_KEYS_SECRET = "gateway-api-keys"  # noqa: S105 - a secret name
OPERATOR_KEYS_SECRET = "operator-keys"  # noqa: S105 - a secret name
WEB_SESSION_SECRET = "web-session-key"  # noqa: S105 - a secret name
WEB_USER_PREFIX = "web:"


class Role(StrEnum):
    USER = "user"
    OPERATOR = "operator"


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: str
    roles: frozenset[Role] = field(default_factory=lambda: frozenset({Role.USER}))
    key_id: str | None = None
    """Which credential was used (the digest prefix), for per-key rate limits and audit logs."""

    @property
    def is_operator(self) -> bool:
        return Role.OPERATOR in self.roles

    @property
    def is_anonymous(self) -> bool:
        return self.user_id.startswith(ANONYMOUS_USER_PREFIX)


def is_visitor(user_id: str) -> bool:
    """A web chat visitor or an anonymous client: an identity handed to anyone who asks for one, so it
    stands for one browser or one client rather than for a known person."""
    return user_id.startswith((WEB_USER_PREFIX, ANONYMOUS_USER_PREFIX))


def digest(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


class ApiKeys:
    """The table of known keys: digest -> principal."""

    def __init__(self, entries: dict[str, Principal] | None = None) -> None:
        self._entries = dict(entries or {})

    @classmethod
    def from_secret(cls, raw: str | None) -> ApiKeys:
        if not raw:
            return cls()
        data = json.loads(raw)
        entries = {
            key_digest: Principal(
                user_id=str(entry["user_id"]),
                roles=frozenset(Role(r) for r in entry.get("roles", ["user"])),
                key_id=key_digest[:12],
            )
            for key_digest, entry in data.items()
        }
        return cls(entries)

    def lookup(self, api_key: str) -> Principal | None:
        # Looking up the digest, not the key, leaks nothing useful through timing.
        return self._entries.get(digest(api_key))

    def __len__(self) -> int:
        return len(self._entries)


class SessionVerifier(Protocol):
    def verify(self, token: str) -> Principal | None:
        """The session's principal, or None when the token is not a valid, unexpired session."""
        ...


class NotAuthenticated(DomainError):
    """No credential, or one the helpdesk does not know."""

    status = 401
    kind = "unauthorized"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="helpdesk"'})


class NotAllowed(DomainError):
    """A known caller without the role this needs."""

    status = 403
    kind = "forbidden"


def unauthorized(detail: str) -> NotAuthenticated:
    return NotAuthenticated(detail)


def forbidden(detail: str = "This needs the operator role.") -> NotAllowed:
    return NotAllowed(detail)


def authenticate(
    authorization: str | None,
    keys: ApiKeys,
    anonymous: Principal | None = None,
    sessions: SessionVerifier | None = None,
) -> Principal:
    """The caller behind `Authorization: Bearer ...`: an API key, else (when `sessions` is given) a web
    session token; without a credential, `anonymous` (this client's own anonymous principal) when
    anonymous calls are allowed, else 401."""
    if not authorization:
        if anonymous is not None:
            return anonymous
        raise unauthorized("A credential is required: send Authorization: Bearer <api key>.")
    scheme, _, credential = authorization.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise unauthorized("Use Authorization: Bearer <api key>.")
    principal = keys.lookup(credential.strip())
    if principal is None and sessions is not None:
        principal = sessions.verify(credential.strip())
    if principal is None:
        raise unauthorized("The credential is not valid.")
    return principal


def require_operator(principal: Principal) -> Principal:
    if not principal.is_operator:
        raise forbidden()
    return principal
