"""The aggregate ledger port: exactly-once folding of per-event contributions into sharded totals,
written in batches.

What it guarantees. `fold(key, fact, tally, bucket)` creates the fact's record under `key` once and
adds its tally to the bucket's totals exactly once, however often and on however many replicas the
same fact is folded: the one call that counted it returns True, every other returns False. It returns
only once the batch holding the tally has been written to the state store, so a caller that
acknowledges its delivery after `fold` returns never loses an acknowledged contribution in a crash;
a crash before that loses only unacknowledged work, which the redelivery folds again. A contribution
whose owning replica died before writing it is re-folded by the first redelivery that arrives after
`stale_seconds` of silence from the owner's shard; until then, and whenever its batch is not written
within `patience_seconds`, `fold` raises `NotYetCounted` (deliver it again later). A read of the
totals sees every contribution whose `fold` has returned; nothing is older than that, since `fold`
waits for the write, and a batch is written at most `flush_seconds` (or `batch_size` contributions)
after its first contribution. Totals are sums and histograms, so they merge by addition.

`ShardedLedger` (`helpdesk.aggregates.sharded_ledger`) implements it over the state-store port;
services depend on `AggregateLedger` only.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, Field

from helpdesk.aggregates.tally import Tally
from helpdesk.events import utcnow


class NotYetCounted(Exception):
    """The fact exists but its batch may still be written by its owner: try the delivery again later."""


class LedgerPosition(BaseModel):
    """Where a fact is folded: the shard that counts it and the batch (`seq`) that carries it."""

    shard: str
    seq: int


class LedgerFact(BaseModel):
    """Base of every record that contributes to the totals: the record is the idempotency gate, and it
    carries its ledger position so that a redelivery can tell whether it was counted."""

    recorded_at: datetime = Field(default_factory=utcnow)
    position: LedgerPosition | None = None

    def stored(self) -> bytes:
        """The record as kept in the state store: fields at their defaults are left out (reading fills
        them in again), since facts are kept one per event for as long as their retention."""
        return self.model_dump_json(exclude_defaults=True).encode()


class AggregateLedger(Protocol):
    async def fold(
        self,
        key: str,
        fact: LedgerFact,
        tally: Tally,
        bucket: str,
        *,
        recent: dict[str, Any] | None = None,
        ttl_seconds: int | None = None,
    ) -> bool:
        """Create the fact's record under `key` and count its tally in `bucket` once; True when this
        call counted it. `recent` is a short summary kept with the latest facts of the day."""
        ...

    async def totals(self, days: Iterable[str]) -> dict[str, Tally]:
        """Bucket -> summed tally over these days (`2026-11-22`)."""
        ...

    async def recent(self, days: Iterable[str]) -> list[dict[str, Any]]:
        """The `recent` summaries kept for these days, in no particular order."""
        ...
