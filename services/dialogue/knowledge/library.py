"""The knowledge base a dialogue replica answers from: the current version of the knowledge store,
indexed in memory.

The evaluator writes every knowledge version to the `knowledgestore` component and publishes a
`kb.updated` that names it (a claim check: `helpdesk.knowledge.store`). The event reaches dialogue
twice: durably on `pubsub` (one replica) and live on `broadcast` (every replica). Either way it only
says "look": the replica reads `kb:current`, then the manifest, then only the items it does not hold
yet, re-indexes in a worker thread and swaps the new index in whole, so turns being answered keep the
version they started with. A replica that missed both catches up when it next compares `kb:current`
(`refresh`, run periodically by the refresher). Dialogue never writes the store.

Until the store has a version (the evaluator seeds it from the same default files at its start), or
while the sidecar is unreachable at start, the replica answers from the default files.

Schema 1 events (entries inline, sent before the store existed) are still followed during an upgrade:
their entries are laid over the store's version until a version that includes their update (the
evaluator adopts them into the store) is loaded.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

from helpdesk.dapr.ports import SidecarUnavailable
from helpdesk.events import KbUpdated
from helpdesk.knowledge.entries import FaqEntry, InvalidKnowledge, KnowledgeItem, Passage
from helpdesk.knowledge.files import fingerprint, read_entries
from helpdesk.knowledge.store import KnowledgeStore, KnowledgeStoreDamaged
from helpdesk.knowledge.versions import LoadedKnowledge
from helpdesk.logging import get_logger
from services.dialogue.knowledge.index import KnowledgeIndex
from services.dialogue.knowledge.knowledge_metrics import KB_ENTRIES, KB_INDEX_SECONDS, KB_UPDATES, KB_VERSION
from services.dialogue.knowledge.semantic import SemanticSpace, SentenceEncoder, load_sentence_encoder

_log = get_logger(__name__)

KEEP_INLINE_UPDATES = 100
"""Schema 1 updates a replica lays over the store's version at most (each is usually one entry)."""

LEXICAL_FIRST_ABOVE = 1_000
"""New or changed FAQ entries from which a version is first served by its lexical index while the
sentence encoder embeds them. The encoder takes about 0.5 ms per text on an idle core (an entry has two
texts or more), so a 12,000-row import would keep the previous version answering for half a minute or
more on a busy box; the lexical index of the same version is ready in a few seconds, and the version
with vectors replaces it when they are done. Smaller changes go straight to the full index."""


@dataclass(frozen=True)
class KnowledgeBase:
    """One knowledge-base version as this replica answers from it: its name and its items by id."""

    kb_version: str
    items: Mapping[str, KnowledgeItem] = field(default_factory=dict)

    @property
    def entries(self) -> dict[str, FaqEntry]:
        """The FAQ entries among the items."""
        return {i: item for i, item in self.items.items() if isinstance(item, FaqEntry)}

    @property
    def passages(self) -> dict[str, Passage]:
        return {i: item for i, item in self.items.items() if isinstance(item, Passage)}


def seed_knowledge(path: Path) -> KnowledgeBase:
    """The knowledge base the default files describe (what a replica answers from until the store has
    a version, and what the evaluator seeds the store with)."""
    entries = read_entries(path)
    return KnowledgeBase(f"seed-{fingerprint(path)}", {e.id: e for e in entries})


def deployed_index(
    items: Iterable[FaqEntry | Passage], kb_version: str, *, semantic_retrieval: bool = True
) -> KnowledgeIndex:
    """An index as a replica builds it (tools that measure what the service does): with the sentence
    encoder unless it is switched off or not installed."""
    encoder = load_sentence_encoder() if semantic_retrieval else None
    space = SemanticSpace(encoder) if encoder is not None else None
    return KnowledgeIndex(list(items), kb_version, semantic=space)


def with_updates(
    items: Mapping[str, KnowledgeItem], updates: Iterable[KbUpdated]
) -> dict[str, KnowledgeItem]:
    """`items` with schema 1 updates laid over in order. An entry older than the one held (by
    `updated_at`) is a late redelivery of an earlier change and is skipped, so replicas that see
    updates in different orders converge."""
    result = dict(items)
    for update in updates:
        for ident in update.removed:
            result.pop(ident, None)
        for entry in update.entries:
            held = result.get(entry.id)
            if held is None or held.updated_at <= entry.updated_at:
                result[entry.id] = entry
    return result


class KnowledgeLibrary:
    """The current index of this replica, kept in step with the knowledge store."""

    def __init__(
        self, seed_path: Path, store: KnowledgeStore, encoder: SentenceEncoder | None = None
    ) -> None:
        """`encoder`: the sentence encoder every index of this replica uses (None: lexical retrieval);
        the vectors of the texts it embedded are kept between builds, so a new version embeds only
        the texts it did not have."""
        self._seed_path = seed_path
        self._store = store
        self._semantic = SemanticSpace(encoder) if encoder is not None else None
        self._seed: KnowledgeBase | None = None
        self._loaded: LoadedKnowledge | None = None
        self._inline: list[KbUpdated] = []
        self._knowledge = KnowledgeBase("empty")
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

    async def start(self) -> None:
        """Load the store's current version; the default files when it has none or cannot be read."""
        try:
            loaded = await self._store.load()
        except (SidecarUnavailable, KnowledgeStoreDamaged) as exc:
            _log.warning(
                "knowledge_store_unavailable", fallback="default files", error_type=type(exc).__name__
            )
            loaded = None
        async with self._lock:
            self._loaded = loaded
            await self._install(self._assemble())

    async def refresh(self, path: str = "refresh") -> bool:
        """Adopt the store's current version when it is not the one indexed; False when it is (or when
        the store has none yet)."""
        loaded = await self._store.load(self._loaded)
        if loaded is None or loaded is self._loaded:
            return False
        async with self._lock:
            if self._loaded is not None and self._loaded.version.sequence >= loaded.version.sequence:
                return False  # another look installed it (or a later one) meanwhile
            self._loaded = loaded
            applied = set(loaded.version.updates)
            self._inline = [u for u in self._inline if u.update_id not in applied]
            await self._install(self._assemble())
        KB_UPDATES.labels(path, "applied").inc()
        return True

    async def follow(self, update: KbUpdated, *, path: str) -> bool:
        """Follow a `kb.updated` (durable or live); False when it changed nothing here. A schema 2
        update is a reason to look at the store; a schema 1 update brings its entries (`InvalidKnowledge`
        when one is not valid: the update is refused whole)."""
        if not update.carries_entries:
            changed = await self.refresh(path)
            if not changed:
                KB_UPDATES.labels(path, "duplicate").inc()
            return changed
        if update.rejected_entries:
            KB_UPDATES.labels(path, "invalid").inc()
            raise InvalidKnowledge(update.rejected_entries[0].reason)
        async with self._lock:
            if self._has(update.update_id):
                KB_UPDATES.labels(path, "duplicate").inc()
                return False
            self._inline = [*self._inline, update][-KEEP_INLINE_UPDATES:]
            await self._install(self._assemble())
        KB_UPDATES.labels(path, "applied").inc()
        return True

    def _has(self, update_id: UUID) -> bool:
        in_store = self._loaded is not None and update_id in self._loaded.version.updates
        return in_store or any(u.update_id == update_id for u in self._inline)

    def _assemble(self) -> KnowledgeBase:
        if self._loaded is not None:
            base = KnowledgeBase(self._loaded.version.version, self._loaded.items)
        else:
            base = self.seed()
        if not self._inline:
            return base
        return KnowledgeBase(self._inline[-1].kb_version, with_updates(base.items, self._inline))

    async def _install(self, knowledge: KnowledgeBase) -> None:
        """Index `knowledge` and answer from it; a large change is answered from its lexical index
        while its vectors are computed (`LEXICAL_FIRST_ABOVE`)."""
        started = time.perf_counter()
        items = [item for item in knowledge.items.values() if isinstance(item, FaqEntry | Passage)]
        changed = await asyncio.to_thread(self._changed_entries, items) if self._semantic is not None else 0
        if changed > LEXICAL_FIRST_ABOVE:
            lexical = await asyncio.to_thread(KnowledgeIndex, items, knowledge.kb_version)
            self._adopt(knowledge, lexical, started)
        index = await asyncio.to_thread(self._indexed, items, knowledge.kb_version)
        self._adopt(knowledge, index, started)

    def _changed_entries(self, items: Iterable[FaqEntry | Passage]) -> int:
        held = self._knowledge.items
        return sum(1 for i in items if isinstance(i, FaqEntry) and held.get(i.id) != i)

    def _adopt(self, knowledge: KnowledgeBase, index: KnowledgeIndex, started: float) -> None:
        elapsed = time.perf_counter() - started
        self._knowledge, self._index = knowledge, index
        KB_INDEX_SECONDS.observe(elapsed)
        KB_ENTRIES.set(len(index))
        KB_VERSION.info({"kb_version": knowledge.kb_version})
        _log.info(
            "knowledge_indexed",
            kb_version=knowledge.kb_version,
            items=len(index),
            retrieval="semantic" if index.semantic is not None else "lexical",
            embedded=len(self._semantic) if self._semantic is not None else None,
            seconds=round(elapsed, 3),
        )

    def _indexed(self, items: list[FaqEntry | Passage], kb_version: str) -> KnowledgeIndex:
        """The index of one version (in a worker thread); the vectors no longer needed are dropped."""
        index = KnowledgeIndex(items, kb_version, semantic=self._semantic)
        if self._semantic is not None:
            self._semantic.keep(index.embedded_texts)
        return index
