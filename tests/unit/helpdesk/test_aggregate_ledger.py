"""The aggregate ledger counts every fact exactly once, whatever the pub/sub redelivers."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from pydantic import Field

from helpdesk.aggregates import LedgerFact, NotYetCounted, ShardedLedger, Tally
from helpdesk.aggregates.shards import RECENT_PER_SHARD, ShardDoc
from helpdesk.memory_ports import MemoryStateStore
from tests.support.kept_for import KeptFor

BUCKET = "2026-11-22T04|a"


class Fact(LedgerFact):
    name: str


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def one() -> Tally:
    tally = Tally()
    tally.add("turns")
    tally.observe("relevance", "7")
    return tally


def ledger(store: MemoryStateStore, clock: Clock | None = None, **options: float) -> ShardedLedger:
    return ShardedLedger(store, flush_seconds=0.01, stale_seconds=10.0, clock=clock or Clock(), **options)


async def test_a_fact_counts_once_however_often_it_is_delivered() -> None:
    store = MemoryStateStore()
    book = ledger(store)
    await book.start()
    try:
        first = await book.fold("fact:1", Fact(name="x"), one(), BUCKET)
        again = [await book.fold("fact:1", Fact(name="x"), one(), BUCKET) for _ in range(3)]
        await book.fold("fact:2", Fact(name="y"), one(), BUCKET)
    finally:
        await book.stop()
    totals = await book.totals(["2026-11-22"])
    assert first is True
    assert again == [False, False, False]
    assert totals[BUCKET].counts["turns"] == 2
    assert totals[BUCKET].hist["relevance"] == {"7": 2}


async def test_concurrent_duplicates_count_once() -> None:
    store = MemoryStateStore()
    book = ledger(store)
    await book.start()
    try:
        results = await asyncio.gather(
            *(book.fold("fact:1", Fact(name="x"), one(), BUCKET) for _ in range(10))
        )
    finally:
        await book.stop()
    assert results.count(True) == 1
    assert (await book.totals(["2026-11-22"]))[BUCKET].counts["turns"] == 1


async def test_two_replicas_write_their_own_shards_and_the_totals_add_up() -> None:
    store = MemoryStateStore()
    replicas = [ledger(store), ledger(store)]
    for book in replicas:
        await book.start()
    try:
        await asyncio.gather(
            *(replicas[i % 2].fold(f"fact:{i}", Fact(name=str(i)), one(), BUCKET) for i in range(40)),
            *(replicas[(i + 1) % 2].fold(f"fact:{i}", Fact(name=str(i)), one(), BUCKET) for i in range(40)),
        )
    finally:
        for book in replicas:
            await book.stop()
    shards = await replicas[0].shards(["2026-11-22"])
    assert len(shards) == 2
    assert (await replicas[0].totals(["2026-11-22"]))[BUCKET].counts["turns"] == 40


async def test_a_fact_lost_with_a_dead_replica_is_counted_once_on_redelivery() -> None:
    """The replica created the fact but died before writing its batch: the redelivery (after the
    shard is presumed abandoned) seals the shard and folds the fact again, exactly once."""
    store = MemoryStateStore()
    clock = Clock()
    dead = ledger(store, clock)  # never started: its batches are never written
    pending = asyncio.create_task(dead.fold("fact:1", Fact(name="x"), one(), BUCKET))
    await asyncio.sleep(0.01)
    assert await store.get("fact:1") is not None
    assert not pending.done()

    survivor = ledger(store, clock)
    await survivor.start()
    try:
        with pytest.raises(NotYetCounted):
            await survivor.fold("fact:1", Fact(name="x"), one(), BUCKET)  # too early to presume it dead
        clock.now += 60
        assert await survivor.fold("fact:1", Fact(name="x"), one(), BUCKET) is True
        assert await survivor.fold("fact:1", Fact(name="x"), one(), BUCKET) is False
    finally:
        await survivor.stop()
        pending.cancel()
    assert (await survivor.totals(["2026-11-22"]))[BUCKET].counts["turns"] == 1


async def test_a_slow_owner_that_writes_after_its_shard_was_sealed_does_not_double_count() -> None:
    store = MemoryStateStore()
    clock = Clock()
    slow = ledger(store, clock)
    early = asyncio.create_task(slow.fold("fact:0", Fact(name="0"), one(), BUCKET))
    await asyncio.sleep(0)
    await slow.flush()  # the owner writes its first batch: the shard exists
    await early
    late = asyncio.create_task(slow.fold("fact:1", Fact(name="x"), one(), BUCKET))
    await asyncio.sleep(0.01)

    clock.now += 60
    other = ledger(store, clock)
    await other.start()
    try:
        assert await other.fold("fact:1", Fact(name="x"), one(), BUCKET) is True  # seals, re-folds
        await slow.flush()  # the slow owner finally tries: its write loses against the seal
        with pytest.raises(NotYetCounted):
            await late
        assert await other.fold("fact:1", Fact(name="x"), one(), BUCKET) is False
    finally:
        await other.stop()
    totals = await other.totals(["2026-11-22"])
    assert totals[BUCKET].counts["turns"] == 2
    sealed = [doc for doc in await other.shards(["2026-11-22"]) if doc.sealed]
    assert len(sealed) == 1
    assert sealed[0].flushed_seq == 1


async def test_the_owner_opens_a_new_shard_after_losing_one() -> None:
    store = MemoryStateStore()
    clock = Clock()
    owner = ledger(store, clock)
    task = asyncio.create_task(owner.fold("fact:1", Fact(name="x"), one(), BUCKET))
    await asyncio.sleep(0.01)
    clock.now += 60
    rescuer = ledger(store, clock)
    await rescuer.start()
    try:
        assert await rescuer.fold("fact:1", Fact(name="x"), one(), BUCKET) is True
    finally:
        await rescuer.stop()
    await owner.flush()
    with pytest.raises(NotYetCounted):
        await task
    await owner.start()
    try:
        assert await owner.fold("fact:2", Fact(name="y"), one(), BUCKET) is True
    finally:
        await owner.stop()
    assert (await owner.totals(["2026-11-22"]))[BUCKET].counts["turns"] == 2


def test_shard_documents_round_trip() -> None:
    doc = ShardDoc(
        id="2026-11-22:abc", day="2026-11-22", flushed_seq=3, buckets={BUCKET: one()}, recent=[{"a": 1}]
    )
    again = ShardDoc.loads(doc.dumps())
    assert again == doc


async def test_a_replica_forgets_idle_shards_of_past_days_but_their_totals_stay() -> None:
    store = MemoryStateStore()
    clock = Clock()
    clock.now = 1_795_000_000.0  # 2026-11-18
    book = ledger(store, clock)
    task = asyncio.create_task(book.fold("fact:old", Fact(name="old"), one(), "2026-11-18T09|a"))
    await asyncio.sleep(0)
    await book.flush()
    await task
    clock.now += 3 * 86400
    await book.flush()
    assert book._open == {}
    assert (await book.totals(["2026-11-18"]))["2026-11-18T09|a"].counts["turns"] == 1
    late = asyncio.create_task(book.fold("fact:late", Fact(name="late"), one(), "2026-11-18T10|a"))
    await asyncio.sleep(0)
    await book.flush()
    assert await late is True
    assert len(await book.shards(["2026-11-18"])) == 2


async def test_once_a_fold_returns_another_replica_reads_its_contribution() -> None:
    store = MemoryStateStore()
    writer, reader = ledger(store), ledger(store)
    await writer.start()
    try:
        assert await writer.fold("fact:1", Fact(name="x"), one(), BUCKET) is True
        totals = await reader.totals(["2026-11-22"])
    finally:
        await writer.stop()
    assert totals[BUCKET].counts["turns"] == 1


async def test_each_shard_keeps_the_summaries_of_its_latest_facts() -> None:
    store = MemoryStateStore()
    book = ledger(store)
    await book.start()
    try:
        for n in range(RECENT_PER_SHARD + 5):
            await book.fold(f"fact:{n}", Fact(name=str(n)), one(), BUCKET, recent={"n": n})
    finally:
        await book.stop()
    recent = await book.recent(["2026-11-22"])
    assert [item["n"] for item in recent] == list(range(5, RECENT_PER_SHARD + 5))


async def test_shards_and_day_indexes_expire_once_no_reader_looks_back_that_far() -> None:
    """Aggregates are bounded by time: every write of a shard (sealed ones too) and of a day's index
    carries the ledger's keep time, so old days leave the store instead of piling up for ever."""
    store, clock = KeptFor(), Clock()
    keep = 91 * 86400
    slow = ShardedLedger(store, flush_seconds=0.01, stale_seconds=10.0, keep_seconds=keep, clock=clock)
    early = asyncio.create_task(slow.fold("fact:0", Fact(name="0"), one(), BUCKET))
    await asyncio.sleep(0)
    await slow.flush()
    await early
    late = asyncio.create_task(slow.fold("fact:1", Fact(name="x"), one(), BUCKET))
    await asyncio.sleep(0.01)
    clock.now += 60
    other = ShardedLedger(store, flush_seconds=0.01, stale_seconds=10.0, keep_seconds=keep, clock=clock)
    await other.start()
    try:
        assert await other.fold("fact:1", Fact(name="x"), one(), BUCKET) is True  # seals the slow one's
    finally:
        await other.stop()
        late.cancel()
    aggregates = {k: t for k, t in store.ttls.items() if k.startswith(("aggshard:", "aggindex:"))}
    assert len([k for k in aggregates if k.startswith("aggshard:")]) == 2
    assert any(doc.sealed for doc in await other.shards(["2026-11-22"]))
    assert set(aggregates.values()) == {keep}


class Described(LedgerFact):
    name: str
    note: str | None = None
    tags: list[str] = Field(default_factory=list)


async def test_a_facts_record_leaves_out_its_defaults_and_reads_back_whole() -> None:
    """Facts are kept one per event for their whole retention: at rest, what is at its default is not
    written (here the note and the tags), and reading fills it in again."""
    store = MemoryStateStore()
    book = ledger(store)
    await book.start()
    try:
        await book.fold("fact:1", Described(name="x"), one(), BUCKET)
        await book.fold("fact:2", Described(name="y", tags=["z"]), one(), BUCKET)
    finally:
        await book.stop()
    plain, tagged = await store.get("fact:1"), await store.get("fact:2")
    assert plain is not None
    assert tagged is not None
    assert set(orjson.loads(plain.value)) == {"name", "recorded_at", "position"}
    assert set(orjson.loads(tagged.value)) == {"name", "tags", "recorded_at", "position"}
    read = Described.model_validate_json(plain.value)
    assert (read.name, read.note, read.tags) == ("x", None, [])
    assert read.position is not None
    assert Described.model_validate_json(tagged.value).tags == ["z"]
