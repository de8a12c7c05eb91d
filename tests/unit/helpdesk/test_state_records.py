"""Typed records over the state port: first write wins, etag-checked updates retry on conflicts."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import BaseModel

from helpdesk.dapr.ports import ETagMismatch, Stored
from helpdesk.dapr.state import Records
from helpdesk.memory_ports import MemoryStateStore


class Counter(BaseModel):
    value: int


async def test_create_is_first_write_wins() -> None:
    records = Records(MemoryStateStore(), Counter, "counter")
    assert await records.create("a", Counter(value=1))
    assert not await records.create("a", Counter(value=2))
    assert await records.get("a") == Counter(value=1)


async def test_update_reads_changes_and_writes_with_the_etag() -> None:
    records = Records(MemoryStateStore(), Counter, "counter")
    await records.update("a", lambda c: Counter(value=(c.value if c else 0) + 1))
    await records.update("a", lambda c: Counter(value=(c.value if c else 0) + 1))
    assert await records.get("a") == Counter(value=2)


async def test_concurrent_updates_do_not_lose_increments() -> None:
    store = MemoryStateStore()
    records = Records(store, Counter, "counter")

    class Interleaving(MemoryStateStore):
        """Yields between the read and the write so that updates really interleave."""

        async def get(self, key: str) -> Stored | None:
            value = await store.get(key)
            await asyncio.sleep(0)
            return value

        async def save(
            self, key: str, value: bytes, *, etag: str | None = None, ttl_seconds: int | None = None
        ) -> None:
            await store.save(key, value, etag=etag, ttl_seconds=ttl_seconds)

        async def create(self, key: str, value: bytes, *, ttl_seconds: int | None = None) -> bool:
            return await store.create(key, value, ttl_seconds=ttl_seconds)

    racing = Records(Interleaving(), Counter, "counter")
    await asyncio.gather(
        *(
            racing.update("a", lambda c: Counter(value=(c.value if c else 0) + 1), attempts=50)
            for _ in range(10)
        )
    )
    assert await records.get("a") == Counter(value=10)


async def test_update_returning_none_leaves_the_record() -> None:
    store = MemoryStateStore()
    records = Records(store, Counter, "counter")
    await records.create("a", Counter(value=5))
    writes = store.writes
    assert await records.update("a", lambda c: None) == Counter(value=5)
    assert store.writes == writes


async def test_update_gives_up_after_its_attempts() -> None:
    class AlwaysConflicting(MemoryStateStore):
        async def save(
            self, key: str, value: bytes, *, etag: str | None = None, ttl_seconds: int | None = None
        ) -> None:
            raise ETagMismatch(key)

    store = AlwaysConflicting()
    await store.create("counter:a", b'{"value": 1}')
    with pytest.raises(ETagMismatch):
        await Records(store, Counter, "counter").update("a", lambda c: Counter(value=2), attempts=3)
