"""The Teams channel: `POST /api/messages` in, proactive replies out.

The webhook only authenticates, records and publishes: it answers 200 as soon as the turn is recorded
and `chat.requested` is published (a typing indicator goes out on the side), and the answer is sent
later by whichever replica's competing subscription stores it, through `TeamsSender`. The turn id is
derived from the activity id, so an activity the Bot Framework sends twice, even while the first is
still being handled, is one turn: one publish, one reply (the delivery record makes the reply go out
once; see delivery.py for how a long throttling by the connector is handed back to redelivery without
a second copy). A message refused for the rate limit or its size gets a short notice instead of
silence, once per activity (and a rate-limit notice at most once per user and limit window). Activity
types the helpdesk does not act on (typing, conversationUpdate, reactions, invokes) are acknowledged
with 200 and nothing else.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from datetime import datetime
from typing import Any
from uuid import UUID

import httpx
from fastapi import Request
from microsoft_agents.activity import Activity, ActivityTypes
from openfeature.client import OpenFeatureClient
from prometheus_client import Counter
from pydantic import BaseModel, Field, ValidationError
from starlette.responses import Response

from helpdesk.auth import Principal
from helpdesk.dapr.ports import KeyValueStore, SecretSource, SidecarUnavailable
from helpdesk.dapr.state import Records
from helpdesk.errors import DomainError
from helpdesk.events import MAX_MESSAGE_CHARS, ChannelRef, Rating, utcnow
from helpdesk.flags import Flag
from helpdesk.logging import get_logger
from services.gateway.api.body import read_json
from services.gateway.channels.teams.activities import (
    channel_ref,
    question_of,
    tenant_of,
    turn_ids,
    user_id_of,
)
from services.gateway.channels.teams.cards import (
    Addressee,
    Notice,
    feedback_from,
    refusal_activity,
    typing_activity,
)
from services.gateway.channels.teams.connector import (
    BotConnector,
    BotToken,
    ConnectorError,
    Sleep,
    tls_verification,
)
from services.gateway.channels.teams.sender import TeamsSender
from services.gateway.channels.teams.token_checks import (
    ChannelTokens,
    KeysUnavailable,
    SigningKeys,
    TokenRejected,
    check_activity,
)
from services.gateway.desk.feedback import FeedbackDesk
from services.gateway.desk.intake import Incoming, TurnIntake
from services.gateway.gateway_errors import (
    ChannelTokenMissing,
    ChannelTokenRefused,
    HelpdeskUnavailable,
    InvalidActivity,
    RateLimited,
    TeamsSwitchedOff,
)
from services.gateway.settings import GatewaySettings
from services.gateway.turns import TurnStatus

_log = get_logger(__name__)

APP_PASSWORD_SECRET = "teams-app-password"  # noqa: S105 - a secret name

ACTIVITIES = Counter("helpdesk_teams_activities_total", "Activities posted to /api/messages", ["outcome"])

# The Activity model logs the whole input when validation fails, and that input holds the user's words:
# its logger is silenced, and invalid activities are counted here without their content.
logging.getLogger("microsoft_agents.activity.activity").setLevel(logging.CRITICAL)


class _Seen(BaseModel):
    """A thumbs submit already acted on (the activity id is the key)."""

    at: datetime = Field(default_factory=utcnow)


class TeamsChannel:
    """Everything Teams needs in one gateway process: token checks, the connector, the webhook."""

    def __init__(
        self,
        settings: GatewaySettings,
        intake: TurnIntake,
        feedback: FeedbackDesk,
        store: KeyValueStore,
        secrets: SecretSource,
        flags: OpenFeatureClient,
        *,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.settings = settings.teams
        self._rate_limit_window_seconds = settings.rate_limit_window_seconds
        self._retry_after_seconds = settings.retry_after_seconds
        self._intake = intake
        self._feedback_desk = feedback
        self._store = store
        self._secrets = secrets
        self._flags = flags
        self._client: httpx.AsyncClient | None = None
        self._background: set[asyncio.Task[None]] = set()
        self.keys = SigningKeys(self.settings, self.http)
        self.tokens = ChannelTokens(self.settings, self.keys)
        self.bot_token = BotToken(self.settings, self._app_password)
        self.connector = BotConnector(self.settings, self.bot_token, self.http, sleep=sleep)
        self.sender = TeamsSender(self.connector, self.settings)
        if self.settings.app_id and self.settings.multi_tenant_authority:
            _log.warning(
                "teams_authority_multi_tenant",
                authority=self.settings.authority,
                allowed_tenants=len(self.settings.allowed_tenants),
                hint=(
                    "a single-tenant bot (the only kind Azure creates now) gets no token here: set "
                    "HELPDESK_TEAMS__AUTHORITY=https://login.microsoftonline.com/<tenant id>"
                ),
            )

    def http(self) -> httpx.AsyncClient:
        """The one HTTP client for the keys, the token authority and the connector, opened on first use."""
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self.settings.http_timeout_seconds,
                verify=tls_verification(self.settings),
                follow_redirects=False,
            )
        return self._client

    async def _app_password(self) -> str | None:
        return await self._secrets.get_secret(APP_PASSWORD_SECRET)

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def enabled(self) -> bool:
        if not self.settings.app_id:
            return False
        return bool(self._flags.get_boolean_value(Flag.TEAMS.value, True))

    async def receive(self, request: Request) -> Response:
        if not self.enabled():
            ACTIVITIES.labels("disabled").inc()
            raise TeamsSwitchedOff()
        try:
            token = await self.tokens.verify(request.headers.get("authorization"))
        except TokenRejected as exc:
            raise self._rejected(exc) from None
        except KeysUnavailable:
            ACTIVITIES.labels("keys-unavailable").inc()
            raise HelpdeskUnavailable("check Teams tokens", self._retry_after_seconds) from None
        data, _ = await read_json(request)
        try:
            activity = Activity.model_validate(data)
        except (ValidationError, ValueError):
            ACTIVITIES.labels("invalid").inc()
            raise InvalidActivity("The body is not a Bot Framework activity.") from None
        try:
            service_url = check_activity(
                self.settings,
                token,
                service_url=activity.service_url,
                channel_id=str(activity.channel_id) if activity.channel_id else None,
                tenant_id=tenant_of(activity),
            )
        except TokenRejected as exc:
            raise self._rejected(exc) from None
        if activity.type != ActivityTypes.message:
            ACTIVITIES.labels("ignored").inc()
            _log.info("teams_activity_ignored", activity_type=activity.type[:40])
            return Response(status_code=200)
        if not activity.id or activity.conversation is None or activity.recipient is None:
            ACTIVITIES.labels("invalid").inc()
            raise InvalidActivity("The activity has no id, conversation or recipient.")
        submit = feedback_from(activity.value)
        if submit is not None:
            await self._feedback(activity, submit.turn_id, submit.rating)
            return Response(status_code=200)
        await self._message(activity, service_url)
        return Response(status_code=200)

    def _rejected(self, exc: TokenRejected) -> DomainError:
        ACTIVITIES.labels(f"rejected-{exc.status}").inc()
        _log.warning("teams_activity_rejected", status=exc.status, reason=exc.reason)
        if exc.status == 401:
            return ChannelTokenMissing(exc.reason)
        return ChannelTokenRefused()

    async def _message(self, activity: Activity, service_url: str) -> None:
        question = question_of(activity)
        user_id = user_id_of(activity)
        conversation_id, turn_id = turn_ids(activity, user_id)
        ref = channel_ref(activity, service_url, self.settings.channel_id)
        if not question or len(question) > MAX_MESSAGE_CHARS:
            ACTIVITIES.labels("ignored").inc()
            _log.info("teams_message_not_answerable", length=len(question))
            if question:
                self._in_background(self._refused(ref, turn_id, Notice.TOO_LONG))
            return
        try:
            accepted = await self._intake.accept(
                Incoming(
                    principal=Principal(user_id=user_id),
                    channel=ref,
                    text=question,
                    conversation_id=conversation_id,
                    locale=ref.locale,
                    turn_id=turn_id,
                ),
                wait=False,
            )
        except RateLimited:
            ACTIVITIES.labels("rate-limited").inc()
            _log.info("teams_message_rate_limited", turn_id=str(turn_id))
            self._in_background(self._refused(ref, turn_id, Notice.RATE_LIMITED))
            return
        ACTIVITIES.labels("replayed" if accepted.replayed else accepted.turn.status.value).inc()
        if accepted.turn.status is TurnStatus.PENDING and not accepted.replayed:
            to = Addressee.from_ref(ref.conversation_ref or {})
            self._in_background(self._typing(service_url, to))

    async def _refused(self, ref: ChannelRef, turn_id: UUID, reason: Notice) -> None:
        """Tell the user why there is no answer: once per activity (the Bot Framework resends), and a
        rate-limit notice at most once per user and window, so a flood gets one notice, not one each."""
        state = self._store
        retention = self.settings.activity_retention_seconds
        window = self._rate_limit_window_seconds
        try:
            if not await Records(state, _Seen, "teams-notice", retention).create(turn_id, _Seen()):
                return
            if reason is Notice.RATE_LIMITED:
                slot = f"{ref.user_id}:{int(utcnow().timestamp()) // window}"
                if not await Records(state, _Seen, "teams-notice-rate", window).create(slot, _Seen()):
                    return
        except SidecarUnavailable:
            _log.info("teams_notice_not_sent", reason=reason, error="state store unavailable")
            return
        to = Addressee.from_ref(ref.conversation_ref or {})
        try:
            await self.connector.send(
                ref.service_url or "",
                to.conversation_id,
                refusal_activity(to, reason, limit=MAX_MESSAGE_CHARS),
                kind="notice",
                attempts=2,
            )
        except ConnectorError as exc:
            _log.info("teams_notice_not_sent", reason=reason, error=str(exc))
            return
        ACTIVITIES.labels(f"notice-{reason.value.replace('_', '-')}").inc()

    async def _typing(self, service_url: str, to: Addressee) -> None:
        try:
            await self.connector.send(
                service_url, to.conversation_id, typing_activity(to), kind="typing", attempts=1
            )
        except ConnectorError as exc:
            _log.info("teams_typing_not_sent", error=str(exc))

    async def _feedback(self, activity: Activity, turn_id: UUID, rating: Rating) -> None:
        user_id = user_id_of(activity)
        _, submit_id = turn_ids(activity, user_id)
        seen = Records(self._store, _Seen, "teams-submit", self.settings.activity_retention_seconds)
        try:
            first = await seen.create(submit_id, _Seen())
        except SidecarUnavailable:
            raise HelpdeskUnavailable("record feedback", self._retry_after_seconds) from None
        if not first:
            ACTIVITIES.labels("replayed").inc()
            return
        try:
            await self._feedback_desk.rate(Principal(user_id=user_id), turn_id, rating, None)
        except DomainError as refused:
            if refused.status >= 500:
                await self._store.delete(seen.key(submit_id))
                raise
            ACTIVITIES.labels("feedback-ignored").inc()
            _log.info("teams_feedback_ignored", turn_id=str(turn_id), status=refused.status)
            return
        ACTIVITIES.labels("feedback").inc()
