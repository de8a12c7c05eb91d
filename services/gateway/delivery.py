"""Pushing replies to channels that do not wait on an HTTP request (Teams), once per reply.

The competing subscription stores a reply, then hands it to the channel's sender. A delivery record per
reply makes that happen once across replicas and redeliveries:

- a delivery claims the record under an owner token of its own (an etag-checked write) before sending;
- the sender re-checks the claim before each attempt (`Claim.hold`, which renews it too), so a delivery
  whose claim was taken over stops before its next attempt instead of sending a second copy;
- a claim expires after the lease, which each sender sets longer than it can ever go without renewing
  (`ChannelSender.claim_lease_seconds`): only a replica that died mid-send loses its claim;
- a delivery that finds the reply claimed by a live delivery watches the record for the sender's time
  budget (`ChannelSender.send_budget_seconds`) instead of answering RETRY at once: the same message
  can be handed out twice at the same time (the broker reclaims one that is pending longer than its
  processing timeout while the sidecar still retries it), and a copy that answered RETRY at once would
  use up the sidecar's few retries in seconds and be dead-lettered while its twin still sends;
- after a send the record is marked sent, with the channel's id of the sent message; every later
  delivery of the same reply finds it sent and sends nothing;
- a channel that asked to wait longer than one delivery may (a throttling 429 with a long
  `Retry-After`) has the time recorded (`not_before`), so no delivery on any replica calls it earlier.

A crash between "sent" and "marked" can still repeat a message once: nothing can make an outside HTTP
call and a state write atomic, and a repeated message is the lesser harm than a lost one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol
from uuid import UUID, uuid4

from pydantic import BaseModel

from helpdesk.dapr.ports import ETagMismatch, KeyValueStore, SidecarUnavailable
from helpdesk.dapr.state import Records
from helpdesk.dapr.subscriptions import Retry
from helpdesk.events import Channel, ChannelRef, utcnow
from helpdesk.logging import get_logger
from services.gateway.turns import Reply

_log = get_logger(__name__)

DEFAULT_LEASE_SECONDS = 60.0
"""The lease while no sender is registered (nothing is pushed then)."""
DEFAULT_BUDGET_SECONDS = 20.0
_MARK_ATTEMPTS = 3
_WATCH_INTERVALS = 20
"""A delivery watching another's claim reads the record this many times per budget."""


class ChannelSender(Protocol):
    """What a pushing channel implements."""

    channel: Channel

    @property
    def claim_lease_seconds(self) -> float:
        """How long a claim on one of this channel's deliveries holds without renewal: longer than the
        longest time a live delivery can go between two renewals."""
        ...

    @property
    def send_budget_seconds(self) -> float:
        """How long one delivery may spend on a send, strictly less than the sidecar's handler timeout."""
        ...

    async def send_reply(self, ref: ChannelRef, turn_id: UUID, reply: Reply) -> None:
        """Send the bot's reply; raise to have the delivery retried. Re-check `current_claim()` before
        each attempt."""
        ...

    async def send_agent_message(self, ref: ChannelRef, message_id: UUID, text: str) -> None:
        """Send a human agent's message; raise to have the delivery retried."""
        ...


class Send(Protocol):
    async def __call__(self) -> None: ...


class Superseded(Retry):
    """Another delivery took this one's claim over: it sends, this one must not."""


class NotYet(Retry):
    """The channel asked to wait longer than this delivery may: a later delivery sends, not before
    `until`."""

    def __init__(self, reason: str, until: datetime) -> None:
        super().__init__(reason)
        self.until = until


class DeliveryStatus(StrEnum):
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class DeliveryRecord(BaseModel):
    status: DeliveryStatus
    claimed_at: datetime
    attempts: int = 1
    sent_at: datetime | None = None
    owner: str | None = None
    """The claim's token: the delivery that may send while the status is `sending`."""
    not_before: datetime | None = None
    """When the channel asked to be called again, at the earliest."""
    sent_id: str | None = None
    """The channel's id of the sent message (the Bot Connector's activity id)."""


class Claim:
    """One delivery's hold on its record while it sends (`current_claim()` inside the send)."""

    def __init__(
        self, records: Records[DeliveryRecord], delivery_id: UUID, record: DeliveryRecord, started: float
    ) -> None:
        self._records = records
        self._delivery_id = delivery_id
        self.owner = record.owner
        self.not_before = record.not_before
        self.started = started
        """When this delivery began (monotonic): senders measure their time budget from here."""
        self.sent_id: str | None = None

    async def hold(self) -> None:
        """Still ours? Then renew it; otherwise raise `Superseded`. Call right before each attempt."""
        held = False

        def renew(current: DeliveryRecord | None) -> DeliveryRecord | None:
            nonlocal held
            if current is None or current.status is not DeliveryStatus.SENDING or current.owner != self.owner:
                return None
            held = True
            return current.model_copy(update={"claimed_at": utcnow()})

        await self._records.update(self._delivery_id, renew)
        if not held:
            _log.warning("delivery_superseded", delivery_id=str(self._delivery_id))
            raise Superseded("another delivery took this reply over")


_CLAIM: ContextVar[Claim | None] = ContextVar("delivery_claim", default=None)


def current_claim() -> Claim | None:
    """The claim of the delivery being sent, for a sender's retry loop (None outside `once`)."""
    return _CLAIM.get()


class Deliveries:
    """The pushing channels' senders, and the delivery records that make each push happen once."""

    def __init__(
        self,
        store: KeyValueStore,
        senders: Iterable[ChannelSender] = (),
        retention_seconds: int = 7 * 24 * 3600,
    ) -> None:
        self._records = Records(store, DeliveryRecord, "delivery", retention_seconds)
        self._senders: dict[Channel, ChannelSender] = {sender.channel: sender for sender in senders}

    def sender_for(self, channel: Channel) -> ChannelSender | None:
        """The sender of a channel that pushes; None for channels whose callers wait or poll."""
        return self._senders.get(channel)

    @property
    def lease(self) -> timedelta:
        leases = [sender.claim_lease_seconds for sender in self._senders.values()]
        return timedelta(seconds=max(leases, default=DEFAULT_LEASE_SECONDS))

    @property
    def budget_seconds(self) -> float:
        budgets = [sender.send_budget_seconds for sender in self._senders.values()]
        return min(budgets, default=DEFAULT_BUDGET_SECONDS)

    async def once(self, delivery_id: UUID, send: Send) -> bool:
        """Run `send` unless this delivery already went out. True when this call sent it."""
        started = time.monotonic()
        records = self._records
        owner = uuid4().hex
        lease = self.lease
        budget = self.budget_seconds
        claimed = False

        def claim(current: DeliveryRecord | None) -> DeliveryRecord | None:
            nonlocal claimed
            now = utcnow()
            claimed = True
            if current is None:
                return DeliveryRecord(status=DeliveryStatus.SENDING, claimed_at=now, owner=owner)
            if current.status is DeliveryStatus.FAILED or (
                current.status is DeliveryStatus.SENDING and now - current.claimed_at > lease
            ):
                update = {"status": DeliveryStatus.SENDING, "claimed_at": now, "owner": owner}
                return current.model_copy(update=update | {"attempts": current.attempts + 1})
            claimed = False
            return None

        while True:
            current = await records.update(delivery_id, claim)
            if claimed and current is not None:
                break
            if current is None or current.status is not DeliveryStatus.SENDING:
                return False
            if time.monotonic() - started + budget / _WATCH_INTERVALS > budget:
                raise Retry("another delivery is sending this reply")
            await asyncio.sleep(budget / _WATCH_INTERVALS)
        held = Claim(records, delivery_id, current, started)
        token = _CLAIM.set(held)
        try:
            await send()
        except Superseded:
            raise
        except NotYet as exc:
            await self._release(records, delivery_id, owner, not_before=exc.until)
            raise
        except Exception:
            await self._release(records, delivery_id, owner)
            raise
        finally:
            _CLAIM.reset(token)
        await self._mark_sent(records, delivery_id, held.sent_id)
        return True

    @staticmethod
    async def _release(
        records: Records[DeliveryRecord], delivery_id: UUID, owner: str, *, not_before: datetime | None = None
    ) -> None:
        """Hand the reply back (failed, to be sent by a later delivery), unless it is no longer ours."""

        def fail(current: DeliveryRecord | None) -> DeliveryRecord | None:
            if current is None or current.owner != owner or current.status is not DeliveryStatus.SENDING:
                return None
            update: dict[str, object] = {"status": DeliveryStatus.FAILED}
            if not_before is not None:
                update["not_before"] = not_before
            return current.model_copy(update=update)

        try:
            await records.update(delivery_id, fail)
        except (SidecarUnavailable, ETagMismatch):
            _log.warning("delivery_not_released", delivery_id=str(delivery_id))

    @staticmethod
    async def _mark_sent(records: Records[DeliveryRecord], delivery_id: UUID, sent_id: str | None) -> None:
        """Record the sent message, retrying a little: an unrecorded send would be sent again."""

        def sent(current: DeliveryRecord | None) -> DeliveryRecord | None:
            base = current or DeliveryRecord(status=DeliveryStatus.SENT, claimed_at=utcnow())
            return base.model_copy(
                update={"status": DeliveryStatus.SENT, "sent_at": utcnow(), "sent_id": sent_id}
            )

        for attempt in range(1, _MARK_ATTEMPTS + 1):
            try:
                await records.update(delivery_id, sent)
                break
            except (SidecarUnavailable, ETagMismatch):
                if attempt == _MARK_ATTEMPTS:
                    _log.error("reply_sent_but_not_recorded", delivery_id=str(delivery_id))
                    return
                await asyncio.sleep(0.2 * attempt)
        _log.info("reply_pushed", delivery_id=str(delivery_id), sent_id=sent_id)
