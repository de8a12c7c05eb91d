"""`Idempotency-Key` on POST /v1/chat: a retried request gets the first one's turn, not a second turn.

The key is scoped to the caller. The first request records (fingerprint of the body, turn id) with
create-if-absent; a repeat with the same body replays the turn's current state (one publish in all), a
repeat with a different body is a 409. If the first request could not publish its turn, the record is
removed so that a retry can go through.

"The same body" means the same request, not the same bytes: the fingerprint is taken of the validated
request in a canonical JSON form (sorted keys, no insignificant whitespace, one spelling per value), so
a client that re-serialises its retry with the keys in another order, other spacing or escaped characters is
replayed, not refused.
"""

from __future__ import annotations

import hashlib
from uuid import UUID

import orjson
from pydantic import BaseModel

from helpdesk.dapr.ports import KeyValueStore
from helpdesk.dapr.state import Records
from services.gateway.gateway_errors import IdempotencyKeyReused, InvalidIdempotencyKey

MAX_KEY_LENGTH = 255


class IdempotencyRecord(BaseModel):
    fingerprint: str
    turn_id: UUID


def fingerprint(request: BaseModel) -> str:
    canonical = orjson.dumps(request.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def validate_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise InvalidIdempotencyKey()
    return key


class IdempotencyKeys:
    """The keys callers sent, each with the turn it stands for, in the state store."""

    def __init__(self, store: KeyValueStore, ttl_seconds: int) -> None:
        self._store = store
        self._records = Records(store, IdempotencyRecord, "idempotency", ttl_seconds=ttl_seconds)

    @staticmethod
    def _ident(user_id: str, key: str) -> str:
        return hashlib.sha256(f"{user_id}\x00{key}".encode()).hexdigest()

    async def claim(self, user_id: str, key: str, body_fingerprint: str, turn_id: UUID) -> UUID:
        """The turn this request stands for: `turn_id` when first, the earlier turn on a repeat."""
        records = self._records
        ident = self._ident(user_id, key)
        if await records.create(ident, IdempotencyRecord(fingerprint=body_fingerprint, turn_id=turn_id)):
            return turn_id
        existing = await records.get(ident)
        if existing is None:  # expired between the two calls: treat as first
            return turn_id
        if existing.fingerprint != body_fingerprint:
            raise IdempotencyKeyReused()
        return existing.turn_id

    async def release(self, user_id: str, key: str) -> None:
        ident = self._ident(user_id, key)
        loaded = await self._records.load(ident)
        if loaded is not None:
            await self._store.delete(self._records.key(ident), etag=loaded[1])
