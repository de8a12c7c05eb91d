"""The published knowledge base in the `knowledgestore` component: the claim check behind `kb.updated`.

A knowledge base of imported manuals has tens of thousands of items, far more than a message may carry
(Service Bus Standard takes 256 KB). So the evaluator, the only writer, keeps the content here and
publishes a `kb.updated` that names a version; dialogue, the reader, loads that version from here.

Keys (prefixed `knowledgestore||` by Dapr, the same for both apps):

    item:<id>:<digest>        one item's JSON; content-addressed, so a key never changes once written
    manifest:<version>:<n>    page n (from 0) of a version's item refs {id, kind, digest, document}
    documents:<digest>        the version's document records (content-addressed, shared by versions)
    kb:current                the current version: its name, sequence, page count, documents key, ...
    kb:writing                the journal of the version being written (what to clean if it fails)
    kb:lock                   held (with a TTL) by the one writer at a time

A version is written items first, manifest pages next, documents, and `kb:current` last, with the etag
of the version it replaces: a reader that follows `kb:current` never finds a manifest naming an item
that is not there, and a change that fails anywhere before `kb:current` changes nothing visible. Items
never change in place (their key holds their digest), so an import that fails half-way cannot alter an
item the current version names. What it wrote is listed in the journal and deleted by the next writer;
items only the version before the previous one named are deleted when a version is committed (a
reader still loading the previous version finds all of its items).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from uuid import uuid4

import orjson

from helpdesk.dapr.ports import ETagMismatch, KeyValueStore
from helpdesk.errors import DomainError
from helpdesk.events import KnowledgeCounts
from helpdesk.knowledge.entries import KnowledgeItem
from helpdesk.knowledge.versions import (
    DIGEST_CHARS,
    AppliedEdit,
    Committed,
    DocumentRecord,
    ItemRef,
    Journal,
    KnowledgeEdit,
    KnowledgeSnapshot,
    KnowledgeVersion,
    LoadedKnowledge,
    item_json,
    page_key,
    parse_item,
)
from helpdesk.logging import get_logger

_log = get_logger(__name__)

CURRENT_KEY = "kb:current"
LOCK_KEY = "kb:lock"
JOURNAL_KEY = "kb:writing"
PAGE_SIZE = 1000
"""Item refs per manifest page: about 130 KB a page."""
BULK_ITEMS = 200
"""Items per bulk read or write through the sidecar."""
BULK_PAGES = 5
KEEP_UPDATES = 200
"""Update ids a version remembers, so a redelivered or adopted update is recognised."""


class KnowledgeStoreBusy(DomainError):
    """Another change to the knowledge base is being written; this one may be tried again shortly."""

    status = 409
    kind = "knowledge-busy"
    title = "The knowledge base is being changed"


class KnowledgeStoreDamaged(Exception):
    """A version names a page or an item the store does not hold (a version retired while it was read,
    or keys deleted by hand); reading the current version again is the remedy."""


def _documents_json(documents: Mapping[str, DocumentRecord]) -> bytes:
    return orjson.dumps([documents[d].model_dump(mode="json") for d in sorted(documents)])


def _refs_of(pages: list[bytes]) -> list[ItemRef]:
    return [ItemRef.model_validate(raw) for page in pages for raw in orjson.loads(page)]


def _items_of(refs: Sequence[ItemRef], values: Mapping[str, bytes]) -> list[KnowledgeItem]:
    items: list[KnowledgeItem] = []
    for ref in refs:
        try:
            items.append(parse_item(values[ref.key]))
        except ValueError as exc:
            _log.warning("knowledge_item_invalid", item_id=ref.id, reason=str(exc))
    return items


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:DIGEST_CHARS]


def _chunks(values: Sequence[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


@dataclass(frozen=True)
class _Plan:
    """What writing a version puts into the store, before any of it is written."""

    name: str
    sequence: int
    items: int
    pages: dict[str, bytes]
    documents_key: str | None
    documents_value: bytes | None
    new_items: dict[str, ItemRef]
    """The refs whose item keys the base version does not name, by key."""
    item_values: dict[str, bytes]
    """What to write of them: the edit's items (an item that only moved between documents, with the
    same content, is stored already)."""

    @classmethod
    def of(cls, base: KnowledgeSnapshot, applied: AppliedEdit, size: int) -> _Plan:
        refs, documents = applied.refs, applied.documents
        ordered = sorted(refs.values(), key=lambda r: (r.document or "", r.id))
        pages = [
            orjson.dumps([r.model_dump(mode="json") for r in ordered[start : start + size]])
            for start in range(0, len(ordered), size)
        ]
        documents_value = _documents_json(documents) if documents else None
        documents_key = f"documents:{_digest(documents_value)}" if documents_value else None
        content = hashlib.sha256(b"".join(pages) + (documents_key or "").encode()).hexdigest()
        sequence = base.version.sequence + 1 if base.version else 1
        name = f"v{sequence}-{content[:10]}"
        return cls(
            name=name,
            sequence=sequence,
            items=len(ordered),
            pages={page_key(name, n): page for n, page in enumerate(pages)},
            documents_key=documents_key,
            documents_value=documents_value,
            new_items=(new_items := {r.key: r for r in ordered if base.refs.get(r.id) != r}),
            item_values={k: item_json(applied.items[k]) for k in new_items if k in applied.items},
        )

    def journal(self, previous: KnowledgeVersion | None) -> Journal:
        return Journal(
            version=self.name,
            pages=len(self.pages),
            documents=self.documents_key,
            items=list(self.new_items),
            retire_version=previous.previous_version if previous else None,
            retire_pages=previous.previous_pages if previous else 0,
            retire_documents=previous.previous_documents if previous else None,
        )

    def version(
        self, previous: KnowledgeVersion | None, counts: KnowledgeCounts, edit: KnowledgeEdit
    ) -> KnowledgeVersion:
        return KnowledgeVersion(
            version=self.name,
            sequence=self.sequence,
            pages=len(self.pages),
            items=self.items,
            documents=self.documents_key,
            counts=counts,
            previous_version=previous.version if previous else None,
            previous_pages=previous.pages if previous else 0,
            previous_documents=previous.documents if previous else None,
            updates=(*(previous.updates if previous else ()), edit.update_id)[-KEEP_UPDATES:],
            actor=edit.actor,
        )


class KnowledgeStore:
    """The knowledge store through the kernel's `KeyValueStore` port (the `knowledgestore` component).

    Readers use `current`, `load` (a version's items, re-using the ones they hold) and `documents`;
    the one writer uses `commit`, which takes the lock, applies a `KnowledgeEdit` to the current version
    and writes the new one when something changed.
    """

    def __init__(
        self,
        store: KeyValueStore,
        *,
        page_size: int = PAGE_SIZE,
        bulk_items: int = BULK_ITEMS,
        lock_seconds: int = 300,
        wait_seconds: float = 60.0,
    ) -> None:
        self._store = store
        self._page_size = page_size
        self._bulk = bulk_items
        self._lock_seconds = lock_seconds
        self._wait_seconds = wait_seconds

    # ---- reading -----------------------------------------------------------------------------------

    async def current(self) -> KnowledgeVersion | None:
        loaded = await self._current()
        return loaded[0] if loaded else None

    async def _current(self) -> tuple[KnowledgeVersion, str] | None:
        stored = await self._store.get(CURRENT_KEY)
        if stored is None:
            return None
        return KnowledgeVersion.model_validate_json(stored.value), stored.etag

    async def manifest(self, version: str, pages: int) -> list[ItemRef]:
        """The refs of a version, in order; `KnowledgeStoreDamaged` when a page is missing."""
        keys = [page_key(version, n) for n in range(pages)]
        found: dict[str, bytes] = {}
        for chunk in _chunks(keys, BULK_PAGES):
            found.update((k, v.value) for k, v in (await self._store.get_many(chunk)).items())
        missing = [k for k in keys if k not in found]
        if missing:
            raise KnowledgeStoreDamaged(f"version {version} lacks manifest page {missing[0]}")
        return await asyncio.to_thread(_refs_of, [found[key] for key in keys])

    async def items(self, refs: Sequence[ItemRef]) -> list[KnowledgeItem]:
        """The items the refs name, in their order; `KnowledgeStoreDamaged` when one is missing. An item
        that is not valid is left out and logged (it was valid when written)."""
        values: dict[str, bytes] = {}
        for chunk in _chunks([r.key for r in refs], self._bulk):
            values.update((k, v.value) for k, v in (await self._store.get_many(chunk)).items())
        missing = [ref for ref in refs if ref.key not in values]
        if missing:
            raise KnowledgeStoreDamaged(f"item {missing[0].id} ({missing[0].digest}) is not in the store")
        return await asyncio.to_thread(_items_of, refs, values)

    async def load(self, held: LoadedKnowledge | None = None, *, attempts: int = 3) -> LoadedKnowledge | None:
        """The current version with its items (None while the store has none). Items `held` already
        has with the same digest are re-used, so following a small change reads only what changed. A
        version retired while it is read is read again from `kb:current`, up to `attempts` times."""
        for attempt in range(attempts):
            version = await self.current()
            if version is None:
                return None
            if held is not None and held.version.version == version.version:
                return held
            try:
                return await self._load(version, held)
            except KnowledgeStoreDamaged:
                if attempt == attempts - 1:
                    raise
                _log.info("knowledge_version_moved_while_read", kb_version=version.version)
        raise AssertionError("unreachable")

    async def _load(self, version: KnowledgeVersion, held: LoadedKnowledge | None) -> LoadedKnowledge:
        refs = await self.manifest(version.version, version.pages)

        def is_held(ref: ItemRef) -> bool:
            return held is not None and held.refs.get(ref.id) == ref and ref.id in held.items

        fetched = {item.id: item for item in await self.items([r for r in refs if not is_held(r)])}
        items: dict[str, KnowledgeItem] = {}
        for ref in refs:
            item = fetched.get(ref.id) or (held.items.get(ref.id) if held is not None else None)
            if item is not None:
                items[ref.id] = item
        return LoadedKnowledge(version, {r.id: r for r in refs}, items, len(fetched))

    async def documents(self, version: KnowledgeVersion | None = None) -> dict[str, DocumentRecord]:
        """The document records of a version (the current one by default)."""
        version = version or await self.current()
        if version is None or version.documents is None:
            return {}
        stored = await self._store.get(version.documents)
        if stored is None:
            raise KnowledgeStoreDamaged(f"version {version.version} lacks its documents {version.documents}")
        records = (DocumentRecord.model_validate(raw) for raw in orjson.loads(stored.value))
        return {record.document_id: record for record in records}

    async def snapshot(self) -> KnowledgeSnapshot:
        loaded = await self._current()
        if loaded is None:
            return KnowledgeSnapshot(None, {}, {})
        version, etag = loaded
        refs = await self.manifest(version.version, version.pages)
        return KnowledgeSnapshot(version, {r.id: r for r in refs}, await self.documents(version), etag)

    # ---- writing -----------------------------------------------------------------------------------

    async def commit(self, edit: KnowledgeEdit, *, only_when_empty: bool = False) -> Committed:
        """Apply `edit` to the current version and write the result as the new current version; nothing
        is written when it changes nothing (or, with `only_when_empty`, when a version exists: seeding).
        `KnowledgeStoreBusy` when another writer holds the lock longer than this one waits."""
        holder = await self._lock()
        try:
            await self._recover()
            snapshot = await self.snapshot()
            if only_when_empty and snapshot.version is not None:
                return Committed(snapshot.version, KnowledgeCounts(), [], False, edit.update_id)
            if snapshot.version is not None and edit.update_id in snapshot.version.updates:
                return Committed(snapshot.version, KnowledgeCounts(), [], False, edit.update_id)
            applied = await asyncio.to_thread(edit.apply, snapshot.refs, snapshot.documents)
            if applied.counts.nothing_changed and applied.documents == snapshot.documents:
                return Committed(snapshot.version, applied.counts, [], False, edit.update_id)
            version = await self._write(snapshot, applied, edit)
            return Committed(version, applied.counts, applied.changed_ids, True, edit.update_id)
        finally:
            await self._unlock(holder)

    async def _write(
        self, base: KnowledgeSnapshot, applied: AppliedEdit, edit: KnowledgeEdit
    ) -> KnowledgeVersion:
        """Items, manifest pages, documents, then `kb:current` (see the module docstring). The work on
        every item (sorting, pages, JSON) runs in a worker thread, so a large import does not hold the
        event loop."""
        counts = applied.counts
        plan = await asyncio.to_thread(_Plan.of, base, applied, self._page_size)
        await self._store.save(JOURNAL_KEY, plan.journal(base.version).model_dump_json().encode())
        for chunk in _chunks(list(plan.item_values), self._bulk):
            await self._store.save_many({k: plan.item_values[k] for k in chunk})
        for chunk in _chunks(list(plan.pages), BULK_PAGES):
            await self._store.save_many({k: plan.pages[k] for k in chunk})
        if plan.documents_key is not None and plan.documents_value is not None:
            await self._store.save_many({plan.documents_key: plan.documents_value})
        version = plan.version(base.version, counts, edit)
        value = version.model_dump_json().encode()
        if base.etag is None:
            if not await self._store.create(CURRENT_KEY, value):
                raise ETagMismatch(CURRENT_KEY)
        else:
            await self._store.save(CURRENT_KEY, value, etag=base.etag)
        _log.info(
            "knowledge_version_written",
            kb_version=version.version,
            items=version.items,
            written_items=len(plan.item_values),
            pages=version.pages,
            **counts.model_dump(),
        )
        await self._recover()
        return version

    async def _recover(self) -> None:
        """Finishes what the journal says: after a committed version, retires the version before the
        previous one; after a version that never became current, deletes what it wrote."""
        stored = await self._store.get(JOURNAL_KEY)
        if stored is None:
            return
        journal = Journal.model_validate_json(stored.value)
        current = await self.current()
        keep: set[str] = set()
        keep_documents: set[str | None] = set()
        if current is not None:
            keep |= {r.key for r in await self.manifest(current.version, current.pages)}
            keep_documents |= {current.documents, current.previous_documents}
            if current.previous_version is not None:
                previous = await self._manifest_if_any(current.previous_version, current.previous_pages)
                keep |= {r.key for r in previous}
        if current is not None and current.version == journal.version:
            if journal.retire_version is not None:
                retired = await self._manifest_if_any(journal.retire_version, journal.retire_pages)
                await self._delete([r.key for r in retired if r.key not in keep])
                await self._delete([page_key(journal.retire_version, n) for n in range(journal.retire_pages)])
                if journal.retire_documents not in keep_documents and journal.retire_documents is not None:
                    await self._delete([journal.retire_documents])
        else:
            await self._delete([key for key in journal.items if key not in keep])
            await self._delete([page_key(journal.version, n) for n in range(journal.pages)])
            if journal.documents not in keep_documents and journal.documents is not None:
                await self._delete([journal.documents])
            _log.warning("knowledge_version_abandoned", kb_version=journal.version, items=len(journal.items))
        await self._store.delete(JOURNAL_KEY)

    async def _manifest_if_any(self, version: str, pages: int) -> list[ItemRef]:
        """A manifest as far as it exists (a retired one may have been cleaned already)."""
        keys = [page_key(version, n) for n in range(pages)]
        found = await self._store.get_many(keys) if keys else {}
        held = [orjson.loads(found[key].value) for key in keys if key in found]
        return [ItemRef.model_validate(raw) for page in held for raw in page]

    async def _delete(self, keys: list[str]) -> None:
        for chunk in _chunks(keys, self._bulk):
            await self._store.delete_many(chunk)

    async def _lock(self) -> bytes:
        holder = orjson.dumps(uuid4().hex)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait_seconds
        while not await self._store.create(LOCK_KEY, holder, ttl_seconds=self._lock_seconds):
            if loop.time() > deadline:
                raise KnowledgeStoreBusy("Another change to the knowledge base is being written; try again.")
            await asyncio.sleep(0.2)
        return holder

    async def _unlock(self, holder: bytes) -> None:
        stored = await self._store.get(LOCK_KEY)
        if stored is not None and stored.value == holder:
            with contextlib.suppress(ETagMismatch):
                await self._store.delete(LOCK_KEY, etag=stored.etag)
