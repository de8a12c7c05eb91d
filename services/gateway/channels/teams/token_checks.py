"""Who may post to /api/messages: Bot Framework channel tokens.

PyJWT (with `cryptography`) does every cryptographic step: parsing the published keys (`PyJWK`),
checking the RS256 signature, expiry and not-before with the allowed clock skew, the issuer and the
audience (the bot's app id). What PyJWT does not know about is checked here on the verified claims:
the token's `serviceurl` claim must equal the activity's `serviceUrl` (so a reply can never be sent
to an address the caller chose), the key that signed the token must be endorsed for the activity's
channel, and the activity's tenant must be on the allow-list.

The keys come from the Bot Framework OpenID metadata (its `jwks_uri`) and are cached; an unknown key
id forces a refresh (keys rotate), at most once per cooldown so that junk tokens cannot make the
gateway hammer the key endpoint. `PyJWKClient` is not used because it is synchronous (urllib) and
does not expose a key's `endorsements`; the fetch here is async httpx and the parsing is still PyJWT's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from jwt import PyJWK

from helpdesk.logging import get_logger
from services.gateway.settings import TeamsSettings

_log = get_logger(__name__)

ALGORITHMS = ["RS256"]
SERVICE_URL_CLAIM = "serviceurl"


class TokenRejected(Exception):
    """The request is not from the Bot Framework for this bot (answered 401 or 403)."""

    def __init__(self, reason: str, *, status: int = 403) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class KeysUnavailable(Exception):
    """The signing keys could not be fetched, so no token can be checked now (answered 503)."""


@dataclass(frozen=True, slots=True)
class SigningKey:
    key: PyJWK
    endorsements: frozenset[str]


@dataclass(frozen=True, slots=True)
class ChannelToken:
    """A verified Bot Framework token: its claims and what the signing key is endorsed for."""

    claims: dict[str, Any]
    endorsements: frozenset[str]

    @property
    def service_url(self) -> str | None:
        value = self.claims.get(SERVICE_URL_CLAIM)
        return value if isinstance(value, str) else None


def _parse_keys(document: Any) -> dict[str, SigningKey]:
    keys: dict[str, SigningKey] = {}
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise KeysUnavailable("the key set is not a JWKS document")
    for raw in document["keys"]:
        if not isinstance(raw, dict) or not isinstance(raw.get("kid"), str):
            continue
        if raw.get("use") not in (None, "sig") or raw.get("kty") != "RSA":
            continue
        try:
            key = PyJWK(raw, algorithm="RS256")
        except jwt.PyJWTError:
            _log.warning("teams_signing_key_unusable", kid=raw["kid"])
            continue
        endorsements = raw.get("endorsements") or []
        keys[raw["kid"]] = SigningKey(
            key, frozenset(str(e).lower() for e in endorsements if isinstance(e, str))
        )
    if not keys:
        raise KeysUnavailable("the key set holds no usable signing key")
    return keys


class SigningKeys:
    """The Bot Framework's published signing keys, cached and refreshed as they rotate."""

    def __init__(
        self,
        settings: TeamsSettings,
        http: Callable[[], httpx.AsyncClient],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._http = http
        self._clock = clock
        self._keys: dict[str, SigningKey] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    def _stale(self) -> bool:
        return self._fetched_at is None or (
            self._clock() - self._fetched_at >= self._settings.keys_lifespan_seconds
        )

    def _cooling_down(self) -> bool:
        return self._fetched_at is not None and (
            self._clock() - self._fetched_at < self._settings.keys_cooldown_seconds
        )

    async def key(self, kid: str) -> SigningKey:
        if self._stale():
            await self._refresh(force=False)
        found = self._keys.get(kid)
        if found is None and not self._cooling_down():
            await self._refresh(force=True)
            found = self._keys.get(kid)
        if found is None:
            raise TokenRejected("the token was signed with an unknown key")
        return found

    async def _refresh(self, *, force: bool) -> None:
        async with self._lock:
            if not force and not self._stale():
                return  # another request refreshed while this one waited
            if force and self._cooling_down():
                return
            try:
                self._keys = await self._fetch()
            except (httpx.HTTPError, ValueError, KeysUnavailable) as exc:
                _log.warning("teams_signing_keys_unavailable", error_type=type(exc).__name__)
                if not self._keys:
                    raise KeysUnavailable("the Bot Framework signing keys cannot be fetched") from None
                return  # keep trusting the keys we have until the endpoint answers again
            self._fetched_at = self._clock()
            _log.info("teams_signing_keys_refreshed", keys=len(self._keys))

    async def _fetch(self) -> dict[str, SigningKey]:
        client = self._http()
        metadata = await client.get(self._settings.openid_metadata_url)
        metadata.raise_for_status()
        jwks_uri = metadata.json().get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri.startswith("https://"):
            raise KeysUnavailable("the OpenID metadata has no https jwks_uri")
        key_set = await client.get(jwks_uri)
        key_set.raise_for_status()
        return _parse_keys(key_set.json())


class ChannelTokens:
    """Checks the `Authorization` header of an inbound activity."""

    def __init__(self, settings: TeamsSettings, keys: SigningKeys) -> None:
        self._settings = settings
        self._keys = keys

    async def verify(self, authorization: str | None) -> ChannelToken:
        if not authorization:
            raise TokenRejected("a Bot Framework token is required", status=401)
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise TokenRejected("use Authorization: Bearer <token>", status=401)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRejected("the token is malformed") from None
        if header.get("alg") not in ALGORITHMS:
            raise TokenRejected("the token's algorithm is not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRejected("the token names no signing key")
        signing = await self._keys.key(kid)
        try:
            claims = jwt.decode(
                token,
                key=signing.key,
                algorithms=ALGORITHMS,
                audience=self._settings.app_id,
                issuer=self._settings.allowed_issuers,
                leeway=self._settings.clock_skew_seconds,
                options={"require": ["exp", "iss", "aud"], "verify_signature": True},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise TokenRejected("the token is not for this bot") from None
        except jwt.InvalidIssuerError:
            raise TokenRejected("the token's issuer is not trusted") from None
        except jwt.PyJWTError as exc:
            raise TokenRejected(f"the token is not valid ({type(exc).__name__})") from None
        return ChannelToken(claims=claims, endorsements=signing.endorsements)


def _same_url(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def check_activity(
    settings: TeamsSettings,
    token: ChannelToken,
    *,
    service_url: str | None,
    channel_id: str | None,
    tenant_id: str | None,
) -> str:
    """The activity may be acted on for this verified token; returns the service URL to reply to."""
    if not service_url or token.service_url is None or not _same_url(token.service_url, service_url):
        raise TokenRejected("the token's serviceUrl does not match the activity's")
    if not service_url.startswith("https://"):
        raise TokenRejected("the activity's serviceUrl is not https")
    channel = (channel_id or "").split(":", 1)[0].lower()
    if channel != settings.channel_id.lower():
        raise TokenRejected("the activity is not from the Teams channel")
    if channel not in token.endorsements:
        raise TokenRejected("the signing key is not endorsed for this channel")
    allowed = {t.casefold() for t in settings.allowed_tenants}
    if "*" not in allowed and (not tenant_id or tenant_id.casefold() not in allowed):
        raise TokenRejected("the tenant is not allowed")
    return service_url
