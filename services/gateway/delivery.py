"""Pushing replies to channels that do not wait on an HTTP request (Teams), once per reply.

The competing subscription stores a reply, then hands it to the channel's sender. A delivery record per
reply makes that happen once across replicas and redeliveries: a replica claims the record (with its
etag) before sending and marks it sent afterwards. A claim that is older than the lease belongs to a
replica that died mid-send and may be taken over, so a crash between "sent" and "marked" can repeat a
message once; nothing can make an outside HTTP call and a state write atomic, and a repeated message
is the lesser harm than a lost one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from pydantic import BaseModel

from helpdesk.dapr.ports import KeyValueStore
from helpdesk.dapr.state import Records
from helpdesk.dapr.subscriptions import Retry
from helpdesk.events import Channel, ChannelRef, utcnow
from helpdesk.logging import get_logger
from services.gateway.turns import Reply

_log = get_logger(__name__)


class ChannelSender(Protocol):
    """What a pushing channel implements."""

    channel: Channel

    async def send_reply(self, ref: ChannelRef, turn_id: UUID, reply: Reply) -> None:
        """Send the bot's reply; raise to have the delivery retried."""
        ...

    async def send_agent_message(self, ref: ChannelRef, message_id: UUID, text: str) -> None:
        """Send a human agent's message; raise to have the delivery retried."""
        ...


class Send(Protocol):
    async def __call__(self) -> None: ...


class DeliveryStatus(StrEnum):
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class DeliveryRecord(BaseModel):
    status: DeliveryStatus
    claimed_at: datetime
    attempts: int = 1
    sent_at: datetime | None = None


class Deliveries:
    def __init__(self, lease_seconds: float = 60.0, retention_seconds: int = 7 * 24 * 3600) -> None:
        self._lease = timedelta(seconds=lease_seconds)
        self._retention = retention_seconds
        self.senders: dict[Channel, ChannelSender] = {}

    def register(self, sender: ChannelSender) -> None:
        self.senders[sender.channel] = sender

    def pushes(self, channel: Channel) -> bool:
        return channel in self.senders

    async def once(self, store: KeyValueStore, delivery_id: UUID, send: Send) -> bool:
        """Run `send` unless this delivery already went out. True when this call sent it."""
        records = Records(store, DeliveryRecord, "delivery", self._retention)
        claimed = False

        def claim(current: DeliveryRecord | None) -> DeliveryRecord | None:
            nonlocal claimed
            now = utcnow()
            if current is None or current.status is DeliveryStatus.FAILED:
                claimed = True
                attempts = (current.attempts + 1) if current else 1
                return DeliveryRecord(status=DeliveryStatus.SENDING, claimed_at=now, attempts=attempts)
            if current.status is DeliveryStatus.SENDING and now - current.claimed_at > self._lease:
                claimed = True
                return current.model_copy(update={"claimed_at": now, "attempts": current.attempts + 1})
            claimed = False
            return None

        current = await records.update(delivery_id, claim)
        if not claimed:
            if current is not None and current.status is DeliveryStatus.SENDING:
                raise Retry("another replica is sending this reply")
            return False
        try:
            await send()
        except Exception:
            await records.update(
                delivery_id, lambda c: c.model_copy(update={"status": DeliveryStatus.FAILED}) if c else None
            )
            raise
        await records.update(
            delivery_id,
            lambda c: (
                c.model_copy(update={"status": DeliveryStatus.SENT, "sent_at": utcnow()}) if c else None
            ),
        )
        _log.info("reply_pushed", delivery_id=str(delivery_id))
        return True
