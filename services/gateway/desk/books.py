"""The gateway's records in the state store: one typed view per kind, built once at start."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from helpdesk.dapr.ports import KeyValueStore
from helpdesk.dapr.state import Records
from helpdesk.logging import get_logger
from services.gateway.handoff_records import Handoff, OpenHandoffs
from services.gateway.turns import ConversationRecord, TurnRecord

_log = get_logger(__name__)

OPEN_HANDOFFS = "open"
"""The key of the one index of open handoffs that operators list from."""

OPEN_HANDOFFS_LISTED = 5000
"""The most conversations the operators' index lists. It is one document, read and rewritten at every
escalation and read whole by every listing, and nothing else bounds it: handoffs nobody closes would
pile up in it for ever (their records expire after the retention, the index entry would not). Beyond
it the oldest leaves the list; its handoff stays open and reachable by its conversation id."""


@dataclass(frozen=True, slots=True)
class Books:
    """Turns, conversations and handoffs kept for the retention time; the operators' index of open
    handoffs kept until each is closed; and per user, the conversations holding one of the user's
    places among open handoffs."""

    store: KeyValueStore
    turns: Records[TurnRecord]
    conversations: Records[ConversationRecord]
    handoffs: Records[Handoff]
    open_handoffs: Records[OpenHandoffs]
    handoff_places: Records[OpenHandoffs]

    @classmethod
    def in_store(cls, store: KeyValueStore, retention_seconds: int) -> Books:
        return cls(
            store=store,
            turns=Records(store, TurnRecord, "turn", retention_seconds),
            conversations=Records(store, ConversationRecord, "conversation", retention_seconds),
            handoffs=Records(store, Handoff, "handoff", retention_seconds),
            open_handoffs=Records(store, OpenHandoffs, "handoffs"),
            handoff_places=Records(store, OpenHandoffs, "handoffs-of", retention_seconds),
        )

    async def turns_in(self, conversation: ConversationRecord) -> list[TurnRecord]:
        """The conversation's turns that are still kept, in order, in one bulk read."""
        keys = [self.turns.key(t) for t in conversation.turn_ids]
        found = await self.store.get_many(keys)
        return [TurnRecord.model_validate_json(found[k].value) for k in keys if k in found]

    async def open_handoff_list(self) -> list[Handoff]:
        """The open handoffs in the operators' index, in one bulk read."""
        index = await self.open_handoffs.get(OPEN_HANDOFFS)
        if index is None:
            return []
        found = await self.store.get_many([self.handoffs.key(c) for c in index.conversation_ids])
        return [Handoff.model_validate_json(v.value) for v in found.values()]

    async def list_open(self, conversation_id: UUID) -> None:
        unlisted = 0

        def add(current: OpenHandoffs | None) -> OpenHandoffs | None:
            nonlocal unlisted
            listed = (current or OpenHandoffs()).with_open(conversation_id)
            if listed is None:
                return None
            unlisted = max(0, len(listed.conversation_ids) - OPEN_HANDOFFS_LISTED)
            return listed.newest(OPEN_HANDOFFS_LISTED)

        await self.open_handoffs.update(OPEN_HANDOFFS, add)
        if unlisted:
            _log.warning("open_handoffs_unlisted", unlisted=unlisted, listed=OPEN_HANDOFFS_LISTED)

    async def unlist_open(self, conversation_id: UUID) -> None:
        await self.open_handoffs.update(OPEN_HANDOFFS, lambda o: o.without(conversation_id) if o else None)
