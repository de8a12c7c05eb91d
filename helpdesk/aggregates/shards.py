"""The ledger's storage format and its in-memory batches.

A shard document (`aggshard:{day}:{random id}`) holds one replica's cumulative totals for one day and
`flushed_seq`, the last batch it contains; only its owner writes it, except to seal it. The day's index
(`aggindex:{day}`) lists the day's shards for readers, since the state API cannot list keys.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import orjson

from helpdesk.aggregates.tally import Tally

RECENT_PER_SHARD = 25


def shard_key(shard_id: str) -> str:
    return f"aggshard:{shard_id}"


def index_key(day: str) -> str:
    return f"aggindex:{day}"


@dataclass
class ShardDoc:
    id: str
    day: str
    flushed_seq: int = 0
    sealed: bool = False
    updated_at: float = 0.0
    buckets: dict[str, Tally] = field(default_factory=dict)
    recent: list[dict[str, Any]] = field(default_factory=list)

    def dumps(self) -> bytes:
        return orjson.dumps(
            {
                "id": self.id,
                "day": self.day,
                "flushed_seq": self.flushed_seq,
                "sealed": self.sealed,
                "updated_at": self.updated_at,
                "buckets": {k: t.to_json() for k, t in self.buckets.items()},
                "recent": self.recent,
            }
        )

    @classmethod
    def loads(cls, raw: bytes) -> ShardDoc:
        data = orjson.loads(raw)
        return cls(
            id=data["id"],
            day=data["day"],
            flushed_seq=int(data.get("flushed_seq", 0)),
            sealed=bool(data.get("sealed", False)),
            updated_at=float(data.get("updated_at", 0.0)),
            buckets={k: Tally.from_json(v) for k, v in data.get("buckets", {}).items()},
            recent=list(data.get("recent", [])),
        )

    def with_batches(self, batches: list[Batch], updated_at: float) -> ShardDoc:
        """This document with the batches added on top (a copy: the written one stays as it was)."""
        updated = ShardDoc(
            id=self.id,
            day=self.day,
            flushed_seq=batches[-1].seq,
            updated_at=updated_at,
            buckets={
                k: Tally(dict(t.counts), {n: dict(b) for n, b in t.hist.items()})
                for k, t in self.buckets.items()
            },
            recent=list(self.recent),
        )
        for batch in batches:
            for name, tally in batch.buckets.items():
                updated.buckets.setdefault(name, Tally()).merge(tally)
            updated.recent.extend(batch.recent)
        updated.recent = updated.recent[-RECENT_PER_SHARD:]
        return updated


@dataclass
class Batch:
    """Contributions written together (group commit); `written` resolves once they are stored."""

    seq: int
    buckets: dict[str, Tally] = field(default_factory=dict)
    recent: list[dict[str, Any]] = field(default_factory=list)
    size: int = 0
    in_flight: int = 0
    closed: bool = False
    settled: asyncio.Event = field(default_factory=asyncio.Event)
    written: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    def add(self, bucket: str, tally: Tally, recent: dict[str, Any] | None) -> None:
        self.buckets.setdefault(bucket, Tally()).merge(tally)
        if recent is not None:
            self.recent.append(recent)
        self.size += 1

    def release(self) -> None:
        self.in_flight -= 1
        if self.closed and self.in_flight == 0:
            self.settled.set()

    def close(self) -> None:
        self.closed = True
        if self.in_flight == 0:
            self.settled.set()


@dataclass
class OpenShard:
    """A shard this replica writes: its last written document and the batches not yet written."""

    doc: ShardDoc
    etag: str | None = None
    current: Batch | None = None
    queued: deque[Batch] = field(default_factory=deque)
    registered: bool = False

    def batch(self) -> Batch:
        if self.current is None:
            last = self.queued[-1].seq if self.queued else self.doc.flushed_seq
            self.current = Batch(seq=last + 1)
        return self.current

    def pending(self, seq: int) -> Batch | None:
        if self.current is not None and self.current.seq == seq:
            return self.current
        return next((b for b in self.queued if b.seq == seq), None)
