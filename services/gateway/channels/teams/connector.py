"""Sending activities to a Teams conversation through the Bot Connector, from any gateway replica.

Replies are proactive: they go out when `chat.answered` arrives, not inside the inbound request, so
the connector is called with the bot's own client-credentials token. MSAL gets and caches that
token (and renews it before it expires); its calls are synchronous, so they run in a worker thread.

The connector call itself retries 429 and 5xx with jittered exponential back-off, honouring
`Retry-After`, a bounded number of times, and always within the delivery's time budget
(`TeamsSettings.send_budget_seconds`, strictly less than the sidecar's handler timeout): a wait that
would end an attempt past the budget is not waited here but handed back to redelivery
(`ConnectorBusy`, with the time the connector asked for, which the delivery records so that no
delivery calls earlier). Each attempt is bounded by `http_timeout_seconds` as a whole, and before
each attempt the delivery's claim is re-checked and renewed, so a sender whose claim was taken over
stops instead of sending a second copy. A 4xx other than 401 and 429 will not get better by retrying
(the bot was removed from the chat, the conversation is gone): it is raised as `ConnectorRefused` so
the delivery is dead-lettered instead of retried forever.
"""

from __future__ import annotations

import asyncio
import random
import ssl
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx
import msal  # type: ignore[import-untyped]
from prometheus_client import Counter

from helpdesk.events import utcnow
from helpdesk.logging import get_logger
from services.gateway.delivery import Claim
from services.gateway.settings import TeamsSettings

_log = get_logger(__name__)

CONNECTOR_CALLS = Counter(
    "helpdesk_teams_connector_calls_total", "Calls to the Bot Connector by outcome", ["kind", "outcome"]
)

PasswordSource = Callable[[], Awaitable[str | None]]
Sleep = Callable[[float], Awaitable[None]]


class ConnectorError(Exception):
    """The activity was not accepted now; it may be on a later delivery."""


class ConnectorRefused(ConnectorError):
    """The connector refused the activity for good (a 4xx that retrying cannot fix)."""


class ConnectorBusy(ConnectorError):
    """The connector asked to wait longer than this delivery may: call again, not before `until`."""

    def __init__(self, reason: str, until: datetime) -> None:
        super().__init__(reason)
        self.until = until


def tls_verification(settings: TeamsSettings) -> ssl.SSLContext | bool:
    """The system's trust store, plus `ca_bundle` when set (local test servers)."""
    if not settings.ca_bundle:
        return True
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=settings.ca_bundle)
    return context


def retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After` as seconds: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - utcnow()).total_seconds())


class BotToken:
    """The bot's client-credentials token for the Bot Connector, from MSAL's cache or the authority."""

    def __init__(self, settings: TeamsSettings, password: PasswordSource) -> None:
        self._settings = settings
        self._password = password
        self._app: Any = None
        self._lock = asyncio.Lock()

    def _build(self, password: str) -> Any:
        # MSAL takes any requests-like client; httpx trusts `ca_bundle` even where REQUESTS_CA_BUNDLE is
        # set (which overrides a requests session's own `verify`).
        http = httpx.Client(
            timeout=self._settings.http_timeout_seconds, verify=tls_verification(self._settings)
        )
        return msal.ConfidentialClientApplication(
            self._settings.app_id,
            client_credential=password,
            authority=self._settings.authority,
            instance_discovery=False,
            http_client=http,
            token_cache=msal.TokenCache(),
        )

    async def get(self) -> str:
        async with self._lock:
            if self._app is None:
                password = await self._password()
                if not self._settings.app_id or not password:
                    raise ConnectorError("the bot's app id or password (teams-app-password) is not set")
                try:
                    self._app = await asyncio.to_thread(self._build, password)
                except Exception as exc:
                    CONNECTOR_CALLS.labels("token", "error").inc()
                    raise ConnectorError(
                        f"the token authority is unavailable ({type(exc).__name__})"
                    ) from None
            app = self._app
            try:
                result: dict[str, Any] = await asyncio.to_thread(
                    app.acquire_token_for_client, scopes=[self._settings.scope]
                )
            except Exception as exc:
                CONNECTOR_CALLS.labels("token", "error").inc()
                raise ConnectorError(f"no bot token ({type(exc).__name__})") from None
        token = result.get("access_token")
        if not isinstance(token, str):
            CONNECTOR_CALLS.labels("token", "refused").inc()
            raise ConnectorError(f"no bot token ({result.get('error', 'unknown error')})")
        return token

    def forget(self) -> None:
        """Drop the cached token (the connector said 401): the next call asks the authority again."""
        self._app = None


class BotConnector:
    def __init__(
        self,
        settings: TeamsSettings,
        token: BotToken,
        http: Callable[[], httpx.AsyncClient],
        sleep: Sleep = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._token = token
        self._http = http
        self._sleep = sleep
        self._jitter = jitter
        self._clock = clock

    def _backoff(self, attempt: int) -> float:
        """Full jitter: a random wait up to the exponential ceiling, so replicas do not retry in step."""
        settings = self._settings
        ceiling = min(
            settings.reply_backoff_max_seconds, settings.reply_backoff_seconds * 2.0 ** (attempt - 1)
        )
        return float(self._jitter() * ceiling)

    @staticmethod
    def activities_url(service_url: str, conversation_id: str) -> str:
        return f"{service_url.rstrip('/')}/v3/conversations/{quote(conversation_id, safe='')}/activities"

    def _fits(self, wait: float, deadline: float) -> bool:
        """Whether waiting `wait` seconds still leaves a whole attempt before the deadline."""
        return self._clock() + wait + self._settings.http_timeout_seconds <= deadline

    async def _not_before(self, until: datetime, deadline: float) -> None:
        """Wait until the time the connector asked for on an earlier delivery, when that fits into this
        one; otherwise hold the reply as long as this delivery may and hand it back. Holding spares the
        sidecar's few redeliveries (it dead-letters after its last retry) for a throttling that lasts."""
        wait = (until - utcnow()).total_seconds()
        if wait <= 0:
            return
        if self._fits(wait, deadline):
            await self._sleep(wait)
            return
        await self._sleep(max(0.0, deadline - self._clock()))
        raise ConnectorBusy(f"the connector asked to wait {wait:.0f} s more; delivering later", until)

    async def send(
        self,
        service_url: str,
        conversation_id: str,
        activity: dict[str, Any],
        *,
        kind: str = "reply",
        attempts: int | None = None,
        claim: Claim | None = None,
    ) -> dict[str, Any]:
        """Post one activity to the conversation; the connector's resource response (its id).

        With a delivery's `claim`: its time budget starts when the claim was taken, the claim is held
        (re-checked and renewed) before each attempt, and the connector's last asked-for wait is kept."""
        url = self.activities_url(service_url, conversation_id)
        attempts = attempts or self._settings.reply_attempts
        deadline = (claim.started if claim else self._clock()) + self._settings.send_budget_seconds
        if claim is not None and claim.not_before is not None:
            await self._not_before(claim.not_before, deadline)
        renewed = False
        for attempt in range(1, attempts + 1):
            if claim is not None:
                await claim.hold()
            token = await self._token.get()
            if not self._fits(0.0, deadline):
                raise ConnectorError("no time left for another attempt; retrying the delivery later")
            try:
                async with asyncio.timeout(self._settings.http_timeout_seconds):
                    response = await self._http().post(
                        url, json=activity, headers={"authorization": f"Bearer {token}"}
                    )
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                CONNECTOR_CALLS.labels(kind, "unreachable").inc()
                wait = self._backoff(attempt)
                if attempt == attempts or not self._fits(wait, deadline):
                    raise ConnectorError(f"the connector is unreachable ({type(exc).__name__})") from None
                await self._sleep(wait)
                continue
            except (httpx.HTTPError, TimeoutError) as exc:
                # The request may have arrived (a read timeout): no retry here, the delivery decides.
                CONNECTOR_CALLS.labels(kind, "error").inc()
                raise ConnectorError(f"the connector call failed ({type(exc).__name__})") from None
            status = response.status_code
            if 200 <= status < 300:
                CONNECTOR_CALLS.labels(kind, "sent").inc()
                return _resource(response)
            CONNECTOR_CALLS.labels(kind, str(status)).inc()
            if status == 401 and not renewed:
                renewed = True
                self._token.forget()
                continue
            wait = self._wait_after(response, attempt, attempts, deadline)
            _log.info("teams_connector_retry", status=status, attempt=attempt, wait_seconds=round(wait, 3))
            await self._sleep(wait)
        raise ConnectorError("the connector did not accept the activity")

    def _wait_after(self, response: httpx.Response, attempt: int, attempts: int, deadline: float) -> float:
        """How long to wait before the next attempt after a failed one, or why there is none: refused
        for good (`ConnectorRefused`), asked to wait past this delivery (`ConnectorBusy`), or out of
        attempts or time (`ConnectorError`)."""
        status = response.status_code
        if status != 429 and status < 500:
            raise ConnectorRefused(f"the connector refused the activity ({status})")
        asked = retry_after_seconds(response.headers.get("retry-after"))
        if asked is not None and (
            asked > self._settings.retry_after_max_seconds or not self._fits(asked, deadline)
        ):
            until = utcnow() + timedelta(seconds=asked)
            raise ConnectorBusy(f"the connector asked to wait {asked:.0f} s; delivering later", until)
        if attempt == attempts:
            raise ConnectorError(f"the connector kept failing ({status}) after {attempts} attempts")
        wait = self._backoff(attempt) if asked is None else asked
        if not self._fits(wait, deadline):
            raise ConnectorError(f"the connector kept failing ({status}); retrying the delivery later")
        return wait


def _resource(response: httpx.Response) -> dict[str, Any]:
    """The connector's resource response (the sent activity's id); empty when it sent none."""
    try:
        body = response.json() if response.content else {}
    except ValueError:
        body = {}
    return body if isinstance(body, dict) else {}
