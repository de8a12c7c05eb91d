"""The aggregate ledger over the state-store port: per-replica shards written in batches.

How it keeps the guarantee of `helpdesk.aggregates.ledger`:

- Every fact is a record of its own, written once with create-if-absent: that write is the idempotency
  gate, and the record carries its ledger position (the shard it is folded into and the batch `seq`).
- Each replica folds facts into memory and writes them in batches (group commit, every
  `flush_seconds`) to a shard only it writes. The fold returns only after its batch is written. One
  writer per shard means no etag contention; readers sum the shards of a day, listed in the day's index
  (touched once per shard, not per fact).
- A fact is counted exactly when its shard's `flushed_seq >= seq`. A redelivered fact (its record
  exists) therefore either is counted already (done), or is waiting in this replica's own open batch
  (wait for it), or was lost with a replica that died before writing that batch. In the last case the
  shard is *sealed* (written with its etag, so it races safely with a slow owner: exactly one of the
  two writes wins); a sealed shard never takes another batch, and the fact is re-folded into a current
  shard, its record's position moved with the record's etag. An owner that finds its shard sealed
  fails its waiting batches (their deliveries are retried and re-folded) and opens a new shard.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import orjson

from helpdesk.aggregates.ledger import LedgerFact, LedgerPosition, NotYetCounted
from helpdesk.aggregates.shards import Batch, OpenShard, ShardDoc, index_key, shard_key
from helpdesk.aggregates.tally import Tally, day_of
from helpdesk.background import Background
from helpdesk.dapr.ports import ETagMismatch, KeyValueStore, SidecarUnavailable
from helpdesk.logging import get_logger

_log = get_logger(__name__)

KEEP_OPEN_DAYS = 1

F = TypeVar("F", bound=LedgerFact)


@dataclass(frozen=True, slots=True)
class _Contribution:
    """What a fold adds, kept together while a redelivered fact is settled."""

    tally: Tally
    bucket: str
    recent: dict[str, Any] | None
    ttl_seconds: int | None


class ShardedLedger:
    """Folds facts into per-replica aggregate shards exactly once; see the module docstring."""

    def __init__(
        self,
        store: KeyValueStore,
        *,
        flush_seconds: float = 0.05,
        batch_size: int = 256,
        stale_seconds: float = 10.0,
        patience_seconds: float = 20.0,
        settle_seconds: float = 2.0,
        keep_seconds: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`keep_seconds`: how long a shard and a day's index stay after their last write (None: for
        ever). Readers look back a bounded number of days, so what is older is never read again."""
        self._store = store
        self._keep = keep_seconds
        self._flush_seconds = flush_seconds
        self._batch_size = batch_size
        self._stale = stale_seconds
        self._patience = patience_seconds
        self._settle = settle_seconds
        self._clock = clock
        self._open: dict[str, OpenShard] = {}
        self._by_day: dict[str, str] = {}
        self._wake = asyncio.Event()
        self._background = Background(self._run)
        self._flush_lock = asyncio.Lock()

    async def start(self) -> None:
        self._background.start()

    async def stop(self) -> None:
        await self._background.stop()
        with contextlib.suppress(Exception):
            await self.flush()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._flush_seconds)
            self._wake.clear()
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                _log.warning("ledger_flush_failed", error_type=type(exc).__name__)

    # ---- folding -----------------------------------------------------------------------------------

    async def fold(
        self,
        key: str,
        fact: F,
        tally: Tally,
        bucket: str,
        *,
        recent: dict[str, Any] | None = None,
        ttl_seconds: int | None = None,
    ) -> bool:
        """Create the fact's record and count its tally once. True when this call counted it.

        Returns only once the batch holding the tally is written; raises `NotYetCounted` (retry later)
        when the fact exists but its owner may still write it, and `SidecarUnavailable` on outages.
        """
        shard, batch = self._reserve(day_of(bucket))
        try:
            placed = fact.model_copy(
                update={
                    "position": LedgerPosition(shard=shard.doc.id, seq=batch.seq),
                    "recorded_at": datetime.fromtimestamp(self._clock(), UTC),
                }
            )
            created = await self._store.create(key, placed.stored(), ttl_seconds=ttl_seconds)
            if created:
                batch.add(bucket, tally, recent)
                self._nudge(batch)
        finally:
            batch.release()
        if created:
            await self._await_written(batch)
            return True
        return await self._settle_existing(key, type(fact), _Contribution(tally, bucket, recent, ttl_seconds))

    def _reserve(self, day: str) -> tuple[OpenShard, Batch]:
        shard_id = self._by_day.get(day)
        shard = self._open.get(shard_id) if shard_id else None
        if shard is None:
            shard = OpenShard(doc=ShardDoc(id=f"{day}:{uuid.uuid4().hex[:16]}", day=day))
            self._open[shard.doc.id] = shard
            self._by_day[day] = shard.doc.id
        batch = shard.batch()
        batch.in_flight += 1
        return shard, batch

    def _nudge(self, batch: Batch) -> None:
        if batch.size >= self._batch_size:
            self._wake.set()

    async def _await_written(self, batch: Batch) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(batch.written), self._patience)
        except TimeoutError as exc:
            raise NotYetCounted("the aggregate batch was not written in time") from exc

    async def _settle_existing(self, key: str, model: type[F], contribution: _Contribution) -> bool:
        """A redelivered fact: counted already (False), or re-folded here when its shard was lost."""
        deadline = time.monotonic() + self._settle
        for _ in range(64):
            stored = await self._store.get(key)
            if stored is None:
                raise NotYetCounted(f"{key} vanished while settling")
            existing = model.model_validate_json(stored.value)
            position = existing.position
            if position is not None:
                own = self._open.get(position.shard)
                if own is not None:
                    if position.seq <= own.doc.flushed_seq:
                        return False
                    pending = own.pending(position.seq)
                    if pending is not None:
                        await self._await_written(pending)
                        return False
                doc_etag = await self._load_doc(position.shard)
                doc, etag = doc_etag if doc_etag else (None, None)
                if doc is not None and doc.flushed_seq >= position.seq:
                    return False
                try:
                    if not await self._seal(position.shard, doc, etag, existing.recorded_at):
                        continue
                except NotYetCounted:
                    # Most likely a concurrent duplicate whose owner is about to write: give it a moment.
                    if time.monotonic() >= deadline:
                        raise
                    await asyncio.sleep(self._flush_seconds)
                    continue
            lost = position.shard if position else None
            if await self._refold(key, existing, stored.etag, contribution, lost):
                return True
        raise NotYetCounted(f"{key} kept changing while settling")

    async def _refold(
        self,
        key: str,
        existing: F,
        etag: str,
        contribution: _Contribution,
        lost_shard: str | None,
    ) -> bool:
        """Move the fact to a current batch (with its record's etag) and count it there; False when the
        record changed meanwhile."""
        shard, batch = self._reserve(day_of(contribution.bucket))
        try:
            moved = existing.model_copy(
                update={"position": LedgerPosition(shard=shard.doc.id, seq=batch.seq)}
            )
            try:
                await self._store.save(key, moved.stored(), etag=etag, ttl_seconds=contribution.ttl_seconds)
            except ETagMismatch:
                return False
            batch.add(contribution.bucket, contribution.tally, contribution.recent)
            self._nudge(batch)
        finally:
            batch.release()
        _log.info("ledger_refolded", lost_shard=lost_shard)
        await self._await_written(batch)
        return True

    async def _seal(
        self, shard_id: str, doc: ShardDoc | None, etag: str | None, recorded_at: datetime
    ) -> bool:
        """Close a shard whose owner is presumed gone. True when it is sealed now (by us or before)."""
        if doc is not None and doc.sealed:
            return True
        now = self._clock()
        last_sign_of_life = doc.updated_at if doc is not None else recorded_at.timestamp()
        if now - last_sign_of_life < self._stale:
            raise NotYetCounted("the fact's aggregate shard may still be written by its owner")
        if doc is None:
            day = shard_id.split(":", 1)[0]
            sealed = ShardDoc(id=shard_id, day=day, sealed=True, updated_at=now)
            return await self._store.create(shard_key(shard_id), sealed.dumps(), ttl_seconds=self._keep)
        doc.sealed = True
        doc.updated_at = now
        try:
            await self._store.save(shard_key(shard_id), doc.dumps(), etag=etag, ttl_seconds=self._keep)
        except ETagMismatch:
            return False
        _log.warning("ledger_shard_sealed", shard=shard_id, flushed_seq=doc.flushed_seq)
        return True

    async def _load_doc(self, shard_id: str) -> tuple[ShardDoc, str] | None:
        stored = await self._store.get(shard_key(shard_id))
        if stored is None:
            return None
        return ShardDoc.loads(stored.value), stored.etag

    # ---- writing -----------------------------------------------------------------------------------

    async def flush(self) -> None:
        """Write every closed batch of every open shard (the background task calls this)."""
        async with self._flush_lock:
            for shard in list(self._open.values()):
                if shard.current is not None and (shard.current.size or shard.current.in_flight):
                    shard.current.close()
                    shard.queued.append(shard.current)
                    shard.current = None
                if shard.queued:
                    await self._write(shard)
            self._forget_quiet_days()

    def _forget_quiet_days(self) -> None:
        """Drop idle shards of past days from memory (their documents stay; a late fact for such a day
        simply opens a new shard), so a long-running replica holds only recent days."""
        today = datetime.fromtimestamp(self._clock(), UTC).date()
        for shard_id, shard in list(self._open.items()):
            idle = shard.current is None and not shard.queued
            if idle and (today - date.fromisoformat(shard.doc.day)).days > KEEP_OPEN_DAYS:
                del self._open[shard_id]
                if self._by_day.get(shard.doc.day) == shard_id:
                    del self._by_day[shard.doc.day]

    async def _write(self, shard: OpenShard) -> None:
        """Write the shard's queued batches on top of its last document; if the shard was sealed or
        overwritten meanwhile, its batches fail instead (their deliveries are retried elsewhere)."""
        for batch in list(shard.queued):
            await asyncio.wait_for(batch.settled.wait(), self._patience)
        doc = shard.doc
        updated = doc.with_batches(list(shard.queued), self._clock())
        try:
            if not shard.registered:
                await self._register(doc.id, doc.day)
                shard.registered = True
            if shard.etag is None:
                if not await self._store.create(shard_key(doc.id), updated.dumps(), ttl_seconds=self._keep):
                    raise ETagMismatch(doc.id)
            else:
                await self._store.save(
                    shard_key(doc.id), updated.dumps(), etag=shard.etag, ttl_seconds=self._keep
                )
        except ETagMismatch:
            await self._lost(shard, "sealed")
            return
        except (SidecarUnavailable, TimeoutError) as exc:
            if not await self._landed(shard, updated.flushed_seq):
                _log.warning("ledger_write_deferred", shard=doc.id, error_type=type(exc).__name__)
                return
        else:
            loaded = await self._load_doc(doc.id)
            if loaded is None or loaded[0].flushed_seq != updated.flushed_seq:
                await self._lost(shard, "overwritten")
                return
            shard.etag = loaded[1]
            if loaded[0].sealed:
                self._resolve(shard, updated)
                await self._lost(shard, "sealed after the write")
                return
        self._resolve(shard, updated)

    @staticmethod
    def _resolve(shard: OpenShard, written: ShardDoc) -> None:
        shard.doc = written
        for batch in shard.queued:
            if not batch.written.done():
                batch.written.set_result(None)
        shard.queued.clear()

    async def _landed(self, shard: OpenShard, seq: int) -> bool:
        """After an ambiguous failure: did the write happen? Keeps the etag in step when it did."""
        try:
            loaded = await self._load_doc(shard.doc.id)
        except SidecarUnavailable:
            return False
        if loaded is None or loaded[0].flushed_seq < seq:
            return False
        shard.etag = loaded[1]
        return True

    async def _lost(self, shard: OpenShard, why: str) -> None:
        """Someone sealed this shard: its unwritten batches fail (and are retried elsewhere)."""
        _log.warning("ledger_shard_lost", shard=shard.doc.id, why=why)
        self._open.pop(shard.doc.id, None)
        if self._by_day.get(shard.doc.day) == shard.doc.id:
            del self._by_day[shard.doc.day]
        batches = list(shard.queued)
        if shard.current is not None:
            batches.append(shard.current)
        for batch in batches:
            if not batch.written.done():
                batch.written.set_exception(NotYetCounted(f"aggregate shard {shard.doc.id} was sealed"))
                batch.written.exception()  # retrieved here, so an unawaited batch logs nothing

    async def _register(self, shard_id: str, day: str) -> None:
        key = index_key(day)
        for _ in range(16):
            stored = await self._store.get(key)
            ids: list[str] = orjson.loads(stored.value) if stored else []
            if shard_id in ids:
                return
            ids.append(shard_id)
            try:
                if stored is None:
                    if await self._store.create(key, orjson.dumps(ids), ttl_seconds=self._keep):
                        return
                else:
                    await self._store.save(key, orjson.dumps(ids), etag=stored.etag, ttl_seconds=self._keep)
                    return
            except ETagMismatch:
                continue
        raise ETagMismatch(f"{key} kept changing")

    # ---- reading -----------------------------------------------------------------------------------

    async def shards(self, days: Iterable[str]) -> list[ShardDoc]:
        """Every written shard of these days (each replica's, and sealed ones)."""
        ids: list[str] = []
        for day in days:
            stored = await self._store.get(index_key(day))
            if stored is not None:
                ids.extend(orjson.loads(stored.value))
        if not ids:
            return []
        found = await self._store.get_many([shard_key(i) for i in ids])
        return [ShardDoc.loads(s.value) for s in found.values()]

    async def totals(self, days: Iterable[str]) -> dict[str, Tally]:
        """Bucket -> summed tally over every shard of these days."""
        out: dict[str, Tally] = {}
        for doc in await self.shards(days):
            for name, tally in doc.buckets.items():
                out.setdefault(name, Tally()).merge(tally)
        return out

    async def recent(self, days: Iterable[str]) -> list[dict[str, Any]]:
        """The `recent` summaries every shard of these days keeps (its latest facts)."""
        return [item for doc in await self.shards(days) for item in doc.recent]
