"""Pushing replies and agent messages to a Teams conversation (the gateway's `ChannelSender` for Teams).

A connector that refuses for good drops the delivery (dead-lettered), one that asks to wait longer than
this delivery may hands it back with the time to wait (`NotYet`), and any other failure retries it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from helpdesk.dapr.subscriptions import Drop, Retry
from helpdesk.events import Channel, ChannelRef
from services.gateway.channels.teams.cards import Addressee, agent_activity, reply_activity
from services.gateway.channels.teams.connector import (
    BotConnector,
    ConnectorBusy,
    ConnectorError,
    ConnectorRefused,
)
from services.gateway.delivery import NotYet, current_claim
from services.gateway.settings import TeamsSettings
from services.gateway.turns import Reply


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

    async def _send(
        self, ref: ChannelRef, activity_of: Callable[[Addressee], dict[str, Any]], kind: str
    ) -> None:
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
