"""Ratings of answers: one per answer, published once as `feedback.submitted`.

The evaluator joins the first rating of a turn to its evaluation and counts it once, so a second,
different rating could not change what the statistics show: it is refused rather than stored where the
user would see a choice nobody counts. The same rating again is answered as the first was, without a
second event.
"""

from __future__ import annotations

from uuid import UUID

from helpdesk.auth import Principal
from helpdesk.dapr.ports import EventPublisher, SidecarUnavailable
from helpdesk.dapr.state import Records
from helpdesk.events import MAX_COMMENT_CHARS, ChannelRef, FeedbackSubmitted, Rating
from helpdesk.logging import get_logger
from services.gateway.desk.intake import counted_as
from services.gateway.desk.turn_reader import TurnReader
from services.gateway.gateway_errors import AlreadyRated, HelpdeskUnavailable, MessageNotFound, NotAnsweredYet
from services.gateway.ratelimit import Limit, RateLimiter
from services.gateway.turns import TurnRecord, at_rest

_log = get_logger(__name__)


class FeedbackDesk:
    """Takes a user's rating of an answer, limited per user."""

    def __init__(
        self,
        turns: Records[TurnRecord],
        reader: TurnReader,
        bus: EventPublisher,
        limiter: RateLimiter,
        per_user: int,
        retry_after_seconds: int,
    ) -> None:
        self._turns = turns
        self._reader = reader
        self._bus = bus
        self._limiter = limiter
        self._per_user = per_user
        self._retry_after = retry_after_seconds

    def _unavailable(self) -> HelpdeskUnavailable:
        return HelpdeskUnavailable("record feedback", self._retry_after)

    async def rate(
        self,
        principal: Principal,
        turn_id: UUID,
        rating: Rating,
        comment: str | None,
        *,
        client_address: str | None = None,
    ) -> TurnRecord:
        """The rated turn; refused when the turn has no answer yet or already holds another rating."""
        limit = Limit(f"feedback:{counted_as(principal, client_address)}", self._per_user)
        try:
            await self._limiter.admit([limit])
        except SidecarUnavailable:
            raise self._unavailable() from None
        turn = await self._reader.turn_of(principal, turn_id)
        if turn.reply is None:
            raise NotAnsweredYet()
        rated, first = await self._record(turn_id, rating)
        if not first:
            if rated.feedback is rating:
                return rated
            raise AlreadyRated(str(rated.feedback))
        event = FeedbackSubmitted(
            turn_id=turn_id,
            conversation_id=turn.conversation_id,
            channel=ChannelRef(channel=turn.channel, user_id=principal.user_id),
            rating=rating,
            comment=at_rest(comment, MAX_COMMENT_CHARS) if comment else None,
        )
        try:
            await self._bus.publish(event)
        except SidecarUnavailable:
            await self._withdraw(turn_id, rating)
            raise self._unavailable() from None
        return rated

    async def _record(self, turn_id: UUID, rating: Rating) -> tuple[TurnRecord, bool]:
        """The turn with its rating, and whether this call gave it (rather than finding one)."""
        first = False

        def rate(current: TurnRecord | None) -> TurnRecord | None:
            nonlocal first
            first = current is not None and current.feedback is None
            return current.model_copy(update={"feedback": rating}) if first and current else None

        try:
            rated = await self._turns.update(turn_id, rate)
        except SidecarUnavailable:
            raise self._unavailable() from None
        if rated is None:
            raise MessageNotFound()
        return rated, first

    async def _withdraw(self, turn_id: UUID, rating: Rating) -> None:
        """Undo a rating whose event could not be published, so that the user's retry publishes it."""

        def withdraw(current: TurnRecord | None) -> TurnRecord | None:
            if current is None or current.feedback is not rating:
                return None
            return current.model_copy(update={"feedback": None})

        try:
            await self._turns.update(turn_id, withdraw)
        except SidecarUnavailable:
            _log.warning("rating_not_withdrawn", turn_id=str(turn_id))
