"""The knowledge base a dialogue replica answers from: kept in the state store, indexed in memory.

The state store holds the whole knowledge base under one key, written with its etag, so every
change is one atomic step. On start a replica loads it; when the key is absent (a fresh store), the
default files are written with create-if-absent, so that of several replicas starting together exactly
one seeds and all load the same version.

A `kb.updated` reaches dialogue twice: on `pubsub`, where one replica (competing consumers) applies it
to the stored knowledge base, and on `broadcast`, where every replica applies it to its own copy and
re-indexes without a restart. Both are idempotent on the update id. A replica that missed a live copy
catches up when it next refreshes from the store (`refresh`, run periodically by the app).

Indexing runs in a worker thread and the new index is swapped in whole, so turns being answered keep
the version they started with.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, Field

from helpdesk.dapr.ports import KeyValueStore, SidecarUnavailable
from helpdesk.dapr.state import Records
from helpdesk.events import KbUpdated
from helpdesk.knowledge.entries import FaqEntry, InvalidKnowledge
from helpdesk.knowledge.files import fingerprint, read_entries
from helpdesk.logging import get_logger
from services.dialogue.knowledge.index import KnowledgeIndex
from services.dialogue.knowledge.knowledge_metrics import KB_ENTRIES, KB_INDEX_SECONDS, KB_UPDATES

_log = get_logger(__name__)

KNOWLEDGE_KEY = "base"


class KnowledgeBase(BaseModel):
    """The whole knowledge base at one version: what dialogue keeps in its state store (one key,
    written with its etag) and what every replica indexes."""

    KEEP_UPDATES: ClassVar[int] = 1000

    kb_version: str
    entries: dict[str, FaqEntry] = Field(default_factory=dict)
    applied_updates: list[UUID] = Field(default_factory=list)
    """The last `KEEP_UPDATES` update ids, so that a redelivered `kb.updated` changes nothing."""
    seeded_from: str | None = None
    """The fingerprint of the default files this knowledge base was first seeded from."""

    @classmethod
    def seeded(cls, entries: Iterable[FaqEntry], fingerprint: str) -> KnowledgeBase:
        return cls(
            kb_version=f"seed-{fingerprint}",
            entries={e.id: e for e in entries},
            seeded_from=fingerprint,
        )

    def has_applied(self, update_id: UUID) -> bool:
        return update_id in self.applied_updates

    def applying(self, update: KbUpdated) -> KnowledgeBase | None:
        """This knowledge base with the update applied, or None when it was applied already.

        An update with an invalid entry is refused whole (`InvalidKnowledge`), so the knowledge base
        never holds half of one. Entries come from the event itself (ids listed without their entry are
        ignored). An entry older than the one already held (by `updated_at`) is a late redelivery of an
        earlier change and is skipped, so replicas that see updates in different orders still converge.
        """
        if self.has_applied(update.update_id):
            return None
        if update.rejected_entries:
            raise InvalidKnowledge(update.rejected_entries[0].reason)
        removed = set(update.removed)
        entries = {k: v for k, v in self.entries.items() if k not in removed}
        for entry in update.entries:
            held = entries.get(entry.id)
            if held is None or held.updated_at <= entry.updated_at:
                entries[entry.id] = entry
        return self.model_copy(
            update={
                "kb_version": update.kb_version,
                "entries": entries,
                "applied_updates": [*self.applied_updates, update.update_id][-self.KEEP_UPDATES :],
            }
        )

    def includes(self, other: KnowledgeBase) -> bool:
        """Whether this knowledge base has seen every update `other` has (so may replace it)."""
        return set(other.applied_updates) <= set(self.applied_updates)


def seed_knowledge(path: Path) -> KnowledgeBase:
    """The knowledge base the default files describe (what a fresh state store is seeded with)."""
    return KnowledgeBase.seeded(read_entries(path), fingerprint(path))


def knowledge_records(store: KeyValueStore) -> Records[KnowledgeBase]:
    return Records(store, KnowledgeBase, "knowledge")


class KnowledgeLibrary:
    def __init__(self, seed_path: Path) -> None:
        self._seed_path = seed_path
        self._seed: KnowledgeBase | None = None
        self._knowledge = KnowledgeBase(kb_version="empty")
        self._index = KnowledgeIndex([], "empty")
        self._lock = asyncio.Lock()

    @property
    def index(self) -> KnowledgeIndex:
        return self._index

    @property
    def knowledge(self) -> KnowledgeBase:
        return self._knowledge

    def seed(self) -> KnowledgeBase:
        if self._seed is None:
            self._seed = seed_knowledge(self._seed_path)
        return self._seed

    async def _install(self, knowledge: KnowledgeBase) -> None:
        started = time.perf_counter()
        index = await asyncio.to_thread(
            KnowledgeIndex, list(knowledge.entries.values()), knowledge.kb_version
        )
        elapsed = time.perf_counter() - started
        self._knowledge, self._index = knowledge, index
        KB_INDEX_SECONDS.observe(elapsed)
        KB_ENTRIES.set(len(index))
        _log.info(
            "knowledge_indexed",
            kb_version=knowledge.kb_version,
            entries=len(index),
            seconds=round(elapsed, 3),
        )

    async def start(self, store: KeyValueStore) -> None:
        """Load the stored knowledge base, seeding the store from the default files if it has none.
        Without a reachable store the replica answers from the default files until `refresh` succeeds."""
        records = knowledge_records(store)
        try:
            stored = await records.get(KNOWLEDGE_KEY)
            if stored is None:
                seeded = self.seed()
                if await records.create(KNOWLEDGE_KEY, seeded):
                    _log.info("knowledge_seeded", kb_version=seeded.kb_version, entries=len(seeded.entries))
                    stored = seeded
                else:
                    stored = await records.get(KNOWLEDGE_KEY)
        except SidecarUnavailable:
            _log.warning("knowledge_store_unavailable", fallback="default files")
            stored = None
        async with self._lock:
            await self._install(stored or self.seed())

    async def refresh(self, store: KeyValueStore) -> bool:
        """Adopt the stored knowledge base when it has seen every update this replica has and more."""
        stored = await knowledge_records(store).get(KNOWLEDGE_KEY)
        if stored is None:
            return False
        async with self._lock:
            current = self._knowledge
            if stored.applied_updates == current.applied_updates and stored.kb_version == current.kb_version:
                return False
            if not stored.includes(current) and current.kb_version != "empty":
                return False
            await self._install(stored)
            return True

    async def apply(self, update: KbUpdated, *, path: str = "live") -> bool:
        """Apply an update to this replica's copy and re-index (the live path). False if already applied.

        Raises `InvalidKnowledge` when the event's entries do not have the knowledge base's shape."""
        async with self._lock:
            changed = self._knowledge.applying(update)
            if changed is None:
                KB_UPDATES.labels(path, "duplicate").inc()
                return False
            await self._install(changed)
        KB_UPDATES.labels(path, "applied").inc()
        return True

    async def persist(self, update: KbUpdated, store: KeyValueStore) -> bool:
        """Apply an update to the stored knowledge base (the durable path, one replica), then to this
        replica's copy. False when the store had it already."""
        persisted = False

        def change(current: KnowledgeBase | None) -> KnowledgeBase | None:
            nonlocal persisted
            changed = (current or self.seed()).applying(update)
            persisted = changed is not None
            return changed

        await knowledge_records(store).update(KNOWLEDGE_KEY, change)
        KB_UPDATES.labels("store", "applied" if persisted else "duplicate").inc()
        await self.apply(update, path="durable")
        return persisted
