"""Each user's places among open handoffs: a cap on how many of one user's conversations may wait for a
person at once, so that one caller cannot fill the agents' queue.

An escalation takes a place for its conversation (idempotently: a conversation holding one keeps it);
when none is left the turn is answered with a refusal instead of a handoff. Closing a handoff frees its
place. Web visitors and anonymous clients, identities anyone can get, have a cap of their own.
"""

from __future__ import annotations

from uuid import UUID

from openfeature.client import OpenFeatureClient
from openfeature.evaluation_context import EvaluationContext

from helpdesk.auth import is_visitor
from helpdesk.dapr.state import Records
from helpdesk.events import AnswerMode, Language
from helpdesk.flags import Flag
from helpdesk.logging import get_logger
from services.gateway.handoff_records import OpenHandoffs
from services.gateway.settings import GatewaySettings
from services.gateway.turns import Reply, ReplyRefusal

_log = get_logger(__name__)


class HandoffPlaces:
    """The per-user cap on open handoffs, kept in the state store across replicas."""

    def __init__(
        self, settings: GatewaySettings, places: Records[OpenHandoffs], flags: OpenFeatureClient
    ) -> None:
        self._settings = settings
        self._places = places
        self._flags = flags

    def enabled(self, user_id: str) -> bool:
        """Whether handoffs to a person are on for this user (the handoff_enabled flag)."""
        return self._flags.get_boolean_value(Flag.HANDOFF.value, True, EvaluationContext(user_id))

    def limit(self, user_id: str) -> int:
        """How many of the user's conversations may wait for a person at once (0: no limit)."""
        if is_visitor(user_id):
            return self._settings.open_handoffs_per_session
        return self._settings.open_handoffs_per_user

    async def take(self, user_id: str, conversation_id: UUID) -> bool:
        """Whether the conversation holds, or could now take, one of its user's places."""
        limit = self.limit(user_id)
        if limit == 0:
            return True
        taken = True

        def take(current: OpenHandoffs | None) -> OpenHandoffs | None:
            nonlocal taken
            places = current or OpenHandoffs()
            taken = places.has_room_for(conversation_id, limit)
            return places.with_open(conversation_id) if taken else None

        await self._places.update(user_id, take)
        if not taken:
            _log.info("handoff_limit_reached", conversation_id=str(conversation_id), limit=limit)
        return taken

    async def holds(self, user_id: str, conversation_id: UUID) -> bool:
        if self.limit(user_id) == 0:
            return True
        places = await self._places.get(user_id)
        return places is not None and conversation_id in places.conversation_ids

    async def release(self, user_id: str, conversation_id: UUID) -> None:
        await self._places.update(user_id, lambda o: o.without(conversation_id) if o else None)


def handoff_limit_reply(limit: int, language: Language) -> Reply:
    """What a user is told when an escalation finds all of their places among open handoffs taken."""
    if language is Language.JA:
        text = (
            f"担当者の対応を待っている会話がすでに{limit}件あります。その会話でお続けください。"
            "担当者が会話を終了すると、新しく依頼できます。"
        )
    else:
        waiting = "a conversation" if limit == 1 else f"{limit} conversations"
        text = (
            f"You already have {waiting} waiting for a person. Please continue there; you can ask "
            "for a person again once one of them has been closed."
        )
    return Reply(text=text, mode=AnswerMode.FALLBACK, language=language, refusal=ReplyRefusal.HANDOFF_LIMIT)
