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
import hashlib
import logging
from collections.abc import Coroutine
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

import httpx
from fastapi import APIRouter, Request
from microsoft_agents.activity import Activity, ActivityTypes
from prometheus_client import Counter
from pydantic import BaseModel, Field, ValidationError
from starlette.responses import Response

from helpdesk.auth import Principal
from helpdesk.dapr.ports import SidecarUnavailable
from helpdesk.dapr.state import Records
from helpdesk.dapr.subscriptions import Drop, Retry
from helpdesk.errors import Problem
from helpdesk.events import MAX_MESSAGE_CHARS, Channel, ChannelRef, Rating, utcnow
from helpdesk.flags import Flag
from helpdesk.logging import get_logger
from helpdesk.runtime import Runtime
from services.gateway.api.body import read_json
from services.gateway.channels.teams.auth import (
    ChannelTokens,
    KeysUnavailable,
    SigningKeys,
    TokenRejected,
    check_activity,
)
from services.gateway.channels.teams.cards import (
    Addressee,
    agent_activity,
    feedback_from,
    refusal_activity,
    reply_activity,
    typing_activity,
)
from services.gateway.channels.teams.connector import (
    BotConnector,
    BotToken,
    ConnectorBusy,
    ConnectorError,
    ConnectorRefused,
    Sleep,
    tls_verification,
)
from services.gateway.delivery import NotYet, current_claim
from services.gateway.desk import FrontDesk, Incoming
from services.gateway.settings import TeamsSettings
from services.gateway.turns import Reply, TurnStatus

_log = get_logger(__name__)

APP_PASSWORD_SECRET = "teams-app-password"  # noqa: S105 - a secret name
TEAMS_NAMESPACE = UUID("5b0c1f3e-2a7d-5c59-9d55-0d6f1c1e7a21")
"""Namespace of the conversation and turn ids derived from Teams ids (uuid5)."""

ACTIVITIES = Counter("helpdesk_teams_activities_total", "Activities posted to /api/messages", ["outcome"])

# The Activity model logs the whole input when validation fails, and that input holds the user's words:
# its logger is silenced, and invalid activities are counted here without their content.
logging.getLogger("microsoft_agents.activity.activity").setLevel(logging.CRITICAL)


def user_id_of(activity: Activity) -> str:
    """The helpdesk's user id for the sender: their Entra object id (their Teams id when absent)."""
    sender = activity.from_property
    raw = (sender.aad_object_id or sender.id) if sender is not None else None
    if not raw:
        raise Problem(400, "The activity names no sender.", kind="invalid-activity")
    if len(raw) > 200:
        raw = hashlib.sha256(raw.encode()).hexdigest()
    return f"teams:{raw}"


def _tenant_of(activity: Activity) -> str | None:
    if activity.conversation is not None and activity.conversation.tenant_id:
        return activity.conversation.tenant_id
    data = activity.channel_data
    if isinstance(data, dict):
        tenant = data.get("tenant")
        if isinstance(tenant, dict) and isinstance(tenant.get("id"), str):
            return str(tenant["id"])
    return None


def turn_ids(activity: Activity, user_id: str) -> tuple[UUID, UUID]:
    """The conversation (per Teams conversation and user) and the turn (per activity id), as uuid5s:
    the same activity always maps to the same turn."""
    conversation_key = activity.conversation.id if activity.conversation is not None else ""
    conversation = uuid5(TEAMS_NAMESPACE, f"{_tenant_of(activity) or ''}|{conversation_key}|{user_id}")
    return conversation, uuid5(TEAMS_NAMESPACE, f"{conversation}:{activity.id}")


def channel_ref(activity: Activity, service_url: str, channel_id: str = "msteams") -> ChannelRef:
    """How to answer this activity later, from any replica: the validated service URL and the
    conversation reference (ids only; no names)."""
    bot, sender, conversation = activity.recipient, activity.from_property, activity.conversation
    if bot is None or sender is None or conversation is None:
        raise Problem(400, "The activity has no sender, recipient or conversation.", kind="invalid-activity")
    user_id = user_id_of(activity)
    reference = {
        "conversation_id": conversation.id,
        "bot_id": bot.id,
        "user_id": sender.id,
        "user_aad_id": sender.aad_object_id,
        "tenant_id": _tenant_of(activity),
        "activity_id": activity.id,
        "locale": activity.locale,
        "channel_id": channel_id,
    }
    return ChannelRef(
        channel=Channel.TEAMS,
        user_id=user_id,
        service_url=service_url,
        conversation_ref=reference,
        locale=activity.locale,
    )


def _question(activity: Activity) -> str:
    """The message text without the @mention of the bot (present in group chats and channels)."""
    text = activity.text or ""
    bot_id = activity.recipient.id if activity.recipient is not None else None
    for entity in activity.entities or []:
        mentioned = getattr(entity, "mentioned", None)
        mention_text = getattr(entity, "text", None)
        if entity.type == "mention" and mentioned is not None and mentioned.id == bot_id and mention_text:
            text = text.replace(mention_text, " ")
    return text.strip()


class _Seen(BaseModel):
    """A thumbs submit already acted on (the activity id is the key)."""

    at: datetime = Field(default_factory=utcnow)


class TeamsSender:
    """Pushes replies and agent messages to Teams (`ChannelSender`)."""

    channel = Channel.TEAMS

    def __init__(self, connector: BotConnector, settings: TeamsSettings) -> None:
        self._connector = connector
        self._settings = settings

    @property
    def claim_lease_seconds(self) -> float:
        return self._settings.claim_lease_seconds

    @property
    def send_budget_seconds(self) -> float:
        return self._settings.send_budget_seconds

    @staticmethod
    def _addressee(ref: ChannelRef) -> tuple[str, Addressee]:
        if not ref.service_url or not ref.conversation_ref:
            raise Drop("a Teams turn without a conversation reference cannot be answered")
        try:
            return ref.service_url, Addressee.from_ref(ref.conversation_ref)
        except KeyError:
            raise Drop("the Teams conversation reference is incomplete") from None

    async def _send(self, ref: ChannelRef, activity_of: Any, kind: str) -> None:
        service_url, to = self._addressee(ref)
        claim = current_claim()
        try:
            sent = await self._connector.send(
                service_url, to.conversation_id, activity_of(to), kind=kind, claim=claim
            )
        except ConnectorRefused as exc:
            raise Drop(str(exc)) from None
        except ConnectorBusy as exc:
            raise NotYet(str(exc), exc.until) from None
        except ConnectorError as exc:
            raise Retry(str(exc)) from None
        if claim is not None and isinstance(sent.get("id"), str):
            claim.sent_id = sent["id"]

    async def send_reply(self, ref: ChannelRef, turn_id: UUID, reply: Reply) -> None:
        await self._send(ref, lambda to: reply_activity(to, turn_id, reply), "reply")

    async def send_agent_message(self, ref: ChannelRef, message_id: UUID, text: str) -> None:
        await self._send(ref, lambda to: agent_activity(to, text), "agent")


class TeamsChannel:
    """Everything Teams needs in one gateway process: token checks, the connector, the webhook."""

    def __init__(self, settings: TeamsSettings, desk: FrontDesk, *, sleep: Sleep = asyncio.sleep) -> None:
        self.settings = settings
        self.desk = desk
        self._client: httpx.AsyncClient | None = None
        self._background: set[asyncio.Task[None]] = set()
        self.keys = SigningKeys(settings, self.http)
        self.tokens = ChannelTokens(settings, self.keys)
        self.bot_token = BotToken(settings, self._app_password)
        self.connector = BotConnector(settings, self.bot_token, self.http, sleep=sleep)
        self.sender = TeamsSender(self.connector, settings)
        if settings.app_id and settings.multi_tenant_authority:
            _log.warning(
                "teams_authority_multi_tenant",
                authority=settings.authority,
                allowed_tenants=len(settings.allowed_tenants),
                hint=(
                    "a single-tenant bot (the only kind Azure creates now) gets no token here: set "
                    "HELPDESK_TEAMS__AUTHORITY=https://login.microsoftonline.com/<tenant id>"
                ),
            )

    # ---- plumbing --------------------------------------------------------------------------------

    def http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self.settings.http_timeout_seconds,
                verify=tls_verification(self.settings),
                follow_redirects=False,
            )
        return self._client

    async def _app_password(self) -> str | None:
        return await self.desk.runtime.secrets.get_secret(APP_PASSWORD_SECRET)

    async def close(self, _: Runtime | None = None) -> None:
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
        return bool(self.desk.runtime.flags.get_boolean_value(Flag.TEAMS.value, True))

    # ---- the webhook -----------------------------------------------------------------------------

    def router(self) -> APIRouter:
        router = APIRouter(tags=["teams"])

        @router.post(
            "/api/messages",
            summary="Bot Framework activities from Microsoft Teams",
            description=(
                "Called by the Bot Framework with a signed token. Answers 200 once the message is recorded; "
                "the reply is sent later to the conversation. 401 without a token, 403 for a token that "
                "is not valid for this bot, channel, service URL or tenant, 503 while Teams is switched off."
            ),
            status_code=200,
            response_class=Response,
            responses={
                401: {"description": "No Bot Framework token"},
                403: {"description": "Token or activity not acceptable"},
                503: {"description": "Teams is switched off or keys cannot be fetched now"},
            },
        )
        async def messages(request: Request) -> Response:
            return await self.receive(request)

        return router

    async def receive(self, request: Request) -> Response:
        if not self.enabled():
            ACTIVITIES.labels("disabled").inc()
            raise Problem(503, "The Teams channel is switched off.", kind="channel-disabled")
        try:
            token = await self.tokens.verify(request.headers.get("authorization"))
        except TokenRejected as exc:
            raise self._rejected(exc) from None
        except KeysUnavailable:
            ACTIVITIES.labels("keys-unavailable").inc()
            raise self.desk.unavailable("check Teams tokens") from None
        data, _ = await read_json(request)
        try:
            activity = Activity.model_validate(data)
        except (ValidationError, ValueError):
            ACTIVITIES.labels("invalid").inc()
            raise Problem(400, "The body is not a Bot Framework activity.", kind="invalid-activity") from None
        try:
            service_url = check_activity(
                self.settings,
                token,
                service_url=activity.service_url,
                channel_id=str(activity.channel_id) if activity.channel_id else None,
                tenant_id=_tenant_of(activity),
            )
        except TokenRejected as exc:
            raise self._rejected(exc) from None
        if activity.type != ActivityTypes.message:
            ACTIVITIES.labels("ignored").inc()
            _log.info("teams_activity_ignored", activity_type=activity.type[:40])
            return Response(status_code=200)
        if not activity.id or activity.conversation is None or activity.recipient is None:
            ACTIVITIES.labels("invalid").inc()
            raise Problem(400, "The activity has no id, conversation or recipient.", kind="invalid-activity")
        submit = feedback_from(activity.value)
        if submit is not None:
            await self._feedback(activity, submit.turn_id, submit.rating)
            return Response(status_code=200)
        await self._message(activity, service_url)
        return Response(status_code=200)

    def _rejected(self, exc: TokenRejected) -> Problem:
        ACTIVITIES.labels(f"rejected-{exc.status}").inc()
        _log.warning("teams_activity_rejected", status=exc.status, reason=exc.reason)
        if exc.status == 401:
            return Problem(
                401,
                exc.reason.capitalize() + ".",
                kind="unauthorized",
                headers={"WWW-Authenticate": 'Bearer realm="botframework"'},
            )
        return Problem(403, "The Bot Framework token is not valid for this activity.", kind="forbidden")

    async def _message(self, activity: Activity, service_url: str) -> None:
        question = _question(activity)
        user_id = user_id_of(activity)
        conversation_id, turn_id = turn_ids(activity, user_id)
        ref = channel_ref(activity, service_url, self.settings.channel_id)
        if not question or len(question) > MAX_MESSAGE_CHARS:
            ACTIVITIES.labels("ignored").inc()
            _log.info("teams_message_not_answerable", length=len(question))
            if question:
                self._in_background(self._refused(ref, turn_id, "too_long"))
            return
        try:
            accepted = await self.desk.accept(
                Incoming(
                    principal=Principal(user_id=user_id),
                    channel=ref,
                    text=question,
                    conversation_id=conversation_id,
                    locale=activity.locale,
                    turn_id=turn_id,
                ),
                wait=False,
            )
        except Problem as problem:
            if problem.status != 429:
                raise
            ACTIVITIES.labels("rate-limited").inc()
            _log.info("teams_message_rate_limited", turn_id=str(turn_id))
            self._in_background(self._refused(ref, turn_id, "rate_limited"))
            return
        ACTIVITIES.labels("replayed" if accepted.replayed else accepted.turn.status.value).inc()
        if accepted.turn.status is TurnStatus.PENDING and not accepted.replayed:
            to = Addressee.from_ref(ref.conversation_ref or {})
            self._in_background(self._typing(service_url, to))

    async def _refused(self, ref: ChannelRef, turn_id: UUID, reason: str) -> None:
        """Tell the user why there is no answer: once per activity (the Bot Framework resends), and a
        rate-limit notice at most once per user and window, so a flood gets one notice, not one each."""
        state = self.desk.runtime.state
        retention = self.settings.activity_retention_seconds
        window = self.desk.settings.rate_limit_window_seconds
        try:
            if not await Records(state, _Seen, "teams-notice", retention).create(turn_id, _Seen()):
                return
            if reason == "rate_limited":
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
        ACTIVITIES.labels(f"notice-{reason.replace('_', '-')}").inc()

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
        seen = Records(
            self.desk.runtime.state, _Seen, "teams-submit", self.settings.activity_retention_seconds
        )
        try:
            first = await seen.create(submit_id, _Seen())
        except SidecarUnavailable:
            raise self.desk.unavailable("record feedback") from None
        if not first:
            ACTIVITIES.labels("replayed").inc()
            return
        try:
            await self.desk.feedback(Principal(user_id=user_id), turn_id, rating, None)
        except Problem as problem:
            if problem.status >= 500:
                await self.desk.runtime.state.delete(seen.key(submit_id))
                raise
            ACTIVITIES.labels("feedback-ignored").inc()
            _log.info("teams_feedback_ignored", turn_id=str(turn_id), status=problem.status)
            return
        ACTIVITIES.labels("feedback").inc()
