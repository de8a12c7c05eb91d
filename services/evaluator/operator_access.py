"""Who may use the operator API and the dashboard.

Tools send the operator API key (`Authorization: Bearer ...`, keys kept hashed in the secret store as
`operator-keys`, checked by `helpdesk.auth`). The dashboard's login form exchanges the key for a
server-side session: a random token in an HttpOnly, SameSite=Strict cookie, whose digest keys a record
in the state store (so any replica recognises it and logout ends it everywhere). The key itself never
reaches the browser's storage or JavaScript. Form posts also carry the session's CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

from helpdesk.auth import (
    OPERATOR_KEYS_SECRET,
    ApiKeys,
    Principal,
    Role,
    authenticate,
    require_operator,
    unauthorized,
)
from helpdesk.dapr.ports import KeyValueStore, SecretSource
from helpdesk.logging import get_logger

_log = get_logger(__name__)

SESSION_COOKIE = "hd_operator"
KEY_RELOAD_SECONDS = 30.0


class OperatorSession(BaseModel):
    user_id: str
    csrf: str
    expires_at: float


@dataclass
class SignedIn:
    principal: Principal
    session: OperatorSession | None = None


class OperatorAuth:
    def __init__(
        self,
        state: KeyValueStore,
        secrets_source: SecretSource,
        session_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._state = state
        self._secrets = secrets_source
        self._session_seconds = session_seconds
        self._clock = clock
        self.keys = ApiKeys()
        self._loaded_at = 0.0

    async def load_keys(self) -> None:
        self.keys = ApiKeys.from_secret(await self._secrets.get_secret(OPERATOR_KEYS_SECRET))
        self._loaded_at = self._clock()
        _log.info("operator_keys_loaded", count=len(self.keys))

    async def _lookup(self, api_key: str) -> Principal | None:
        principal = self.keys.lookup(api_key)
        if principal is None and self._clock() - self._loaded_at > KEY_RELOAD_SECONDS:
            await self.load_keys()
            principal = self.keys.lookup(api_key)
        return principal

    async def bearer(self, authorization: str | None) -> Principal:
        """The operator behind an `Authorization` header (401 without a valid key, 403 without the role)."""
        if authorization:
            _, _, credential = authorization.partition(" ")
            if credential.strip() and self.keys.lookup(credential.strip()) is None:
                await self._lookup(credential.strip())
        return require_operator(authenticate(authorization, self.keys))

    async def sign_in(self, api_key: str) -> tuple[str, OperatorSession] | None:
        principal = await self._lookup(api_key.strip()) if api_key.strip() else None
        if principal is None or Role.OPERATOR not in principal.roles:
            return None
        token = secrets.token_urlsafe(32)
        session = OperatorSession(
            user_id=principal.user_id,
            csrf=secrets.token_urlsafe(24),
            expires_at=self._clock() + self._session_seconds,
        )
        await self._state.save(
            _session_key(token), session.model_dump_json().encode(), ttl_seconds=self._session_seconds
        )
        return token, session

    async def session(self, token: str | None) -> OperatorSession | None:
        if not token:
            return None
        stored = await self._state.get(_session_key(token))
        if stored is None:
            return None
        session = OperatorSession.model_validate_json(stored.value)
        return session if session.expires_at > self._clock() else None

    async def sign_out(self, token: str | None) -> None:
        if token:
            await self._state.delete(_session_key(token))

    async def from_cookie_or_bearer(self, token: str | None, authorization: str | None) -> SignedIn:
        if authorization:
            return SignedIn(await self.bearer(authorization))
        session = await self.session(token)
        if session is None:
            raise unauthorized("Sign in as an operator.")
        return SignedIn(Principal(user_id=session.user_id, roles=frozenset({Role.OPERATOR})), session)


def csrf_ok(session: OperatorSession, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(session.csrf.encode(), (given or "").encode())


def _session_key(token: str) -> str:
    return "operator-session:" + hashlib.sha256(token.encode()).hexdigest()
