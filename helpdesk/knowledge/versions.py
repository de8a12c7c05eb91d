"""The records of the published knowledge base (`helpdesk.knowledge.store` reads and writes them):
item refs and manifests, document records, the current version and the writer's journal, and the edits
a writer applies. Plain data and pure functions: no I/O here.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID, uuid4

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from helpdesk.events import KbUpdated, KnowledgeCounts, utcnow
from helpdesk.knowledge.entries import FaqEntry, KnowledgeItem, KnowledgeKind, Passage

KEEP_SKIPPED = 50
"""Skipped parts kept per document record (the count says how many there were)."""
DIGEST_CHARS = 20

ITEM_MODELS: dict[KnowledgeKind, type[KnowledgeItem]] = {
    KnowledgeKind.FAQ: FaqEntry,
    KnowledgeKind.PASSAGE: Passage,
}


def item_key(ident: str, digest: str) -> str:
    return f"item:{ident}:{digest}"


def page_key(version: str, page: int) -> str:
    return f"manifest:{version}:{page}"


def item_json(item: KnowledgeItem) -> bytes:
    """An item as stored: its JSON with its kind, so a reader knows which model it is."""
    return orjson.dumps({"kind": item.kind.value, **item.model_dump(mode="json")})


def parse_item(raw: bytes) -> KnowledgeItem:
    """The item a stored value holds; `ValueError` when it is not one."""
    data = orjson.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("a stored item is a JSON object")
    try:
        model = ITEM_MODELS[KnowledgeKind(str(data.get("kind")))]
        return model.model_validate(data)
    except (ValidationError, KeyError) as exc:
        raise ValueError(f"stored item {data.get('id')!r} is invalid") from exc


class ItemRef(BaseModel):
    """One item of a version, as its manifest names it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    kind: KnowledgeKind
    digest: str
    document: str | None = None
    """The imported document the item came from (None: the default files' seed, an approved entry)."""

    @classmethod
    def of(cls, item: KnowledgeItem, document: str | None = None) -> ItemRef:
        return cls(id=item.id, kind=item.kind, digest=item.digest[:DIGEST_CHARS], document=document)

    @property
    def key(self) -> str:
        return item_key(self.id, self.digest)


class SkippedNote(BaseModel):
    """A part of a document that did not become an item, and why."""

    model_config = ConfigDict(frozen=True)

    part: str
    reason: str


class DocumentRecord(BaseModel):
    """What the knowledge base holds of one imported document (a file or a knowledge-file source)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    document_id: str
    name: str
    """The name it was imported under (its file name)."""
    title: str
    media_type: str
    sha256: str
    """Of the imported bytes: the same file imported again is recognised."""
    language: str | None = None
    imported_at: datetime = Field(default_factory=utcnow)
    actor: str = "system"
    faq_entries: int = 0
    passages: int = 0
    flagged: int = 0
    skipped: tuple[SkippedNote, ...] = ()
    skipped_count: int = 0

    def same_content(self, other: DocumentRecord | None) -> bool:
        """Whether `other` records the same import of the same bytes (when and by whom aside)."""
        ignored = {"imported_at", "actor"}
        return other is not None and self.model_dump(exclude=ignored) == other.model_dump(exclude=ignored)

    def with_skipped(self, skipped: Sequence[SkippedNote]) -> DocumentRecord:
        kept = tuple(skipped[:KEEP_SKIPPED])
        return self.model_copy(update={"skipped": kept, "skipped_count": len(skipped)})


class KnowledgeVersion(BaseModel):
    """`kb:current`: the version every reader follows, and what its writer needs to retire old ones."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    version: str
    sequence: int = Field(ge=1)
    pages: int = Field(ge=0)
    items: int = Field(ge=0)
    documents: str | None = None
    """The key of the version's document records."""
    counts: KnowledgeCounts = Field(default_factory=KnowledgeCounts)
    """What it changed from the previous version."""
    previous_version: str | None = None
    previous_pages: int = 0
    previous_documents: str | None = None
    updates: tuple[UUID, ...] = ()
    """The last `KEEP_UPDATES` update ids written (the latest last)."""
    written_at: datetime = Field(default_factory=utcnow)
    actor: str = "system"


class Journal(BaseModel):
    """`kb:writing`: what a version being written adds to the store, and which version it retires."""

    version: str
    pages: int
    documents: str | None = None
    items: list[str] = Field(default_factory=list)
    retire_version: str | None = None
    retire_pages: int = 0
    retire_documents: str | None = None


@dataclass(frozen=True)
class KnowledgeSnapshot:
    """One version as a writer sees it: its record (None before the first), refs and documents."""

    version: KnowledgeVersion | None
    refs: dict[str, ItemRef]
    documents: dict[str, DocumentRecord]
    etag: str | None = None


@dataclass(frozen=True)
class DocumentItems:
    """One imported document: its record and every item it yields."""

    record: DocumentRecord
    items: Sequence[KnowledgeItem]


@dataclass(frozen=True)
class KnowledgeEdit:
    """A change to the knowledge base, applied to the current version's refs.

    Each of `documents` replaces every item of its document (a re-import: passages that are gone go);
    `put` adds items by id outside any document (an approved entry) or replaces one where it is (an
    entry with a learned wording stays its file's: the file dropping it, or the document's removal,
    takes it out). An id an item shares with another document's item moves to the later one: the later
    import wins, as a later knowledge file's entry does. `remove_documents` and `remove_ids` take items
    out.
    """

    documents: Sequence[DocumentItems] = ()
    put: Sequence[KnowledgeItem] = ()
    remove_ids: Collection[str] = ()
    remove_documents: Collection[str] = ()
    update_id: UUID = field(default_factory=uuid4)
    actor: str = "system"

    def apply(self, refs: Mapping[str, ItemRef], documents: Mapping[str, DocumentRecord]) -> AppliedEdit:
        """The refs and documents after the edit, and its items by key (each digest computed once)."""
        replaced = {document.record.document_id for document in self.documents}
        gone = set(self.remove_documents) | replaced
        new_refs = {i: r for i, r in refs.items() if r.document not in gone and i not in self.remove_ids}
        new_documents = {d: record for d, record in documents.items() if d not in self.remove_documents}
        by_key: dict[str, KnowledgeItem] = {}
        for document in self.documents:
            record = document.record
            for item in document.items:
                ref = new_refs[item.id] = ItemRef.of(item, record.document_id)
                by_key[ref.key] = item
            held = documents.get(record.document_id)
            new_documents[record.document_id] = (
                held if held is not None and record.same_content(held) else record
            )
        for item in self.put:
            held_ref = new_refs.get(item.id)
            ref = new_refs[item.id] = ItemRef.of(item, held_ref.document if held_ref else None)
            by_key[ref.key] = item
        return AppliedEdit(new_refs, new_documents, by_key, *changes_between(refs, new_refs))


@dataclass(frozen=True)
class AppliedEdit:
    """An edit applied to a version's refs: what the next version holds and how it differs."""

    refs: dict[str, ItemRef]
    documents: dict[str, DocumentRecord]
    items: dict[str, KnowledgeItem]
    """The edit's items by the key they are stored under."""
    counts: KnowledgeCounts
    changed_ids: list[str]


@dataclass(frozen=True)
class Committed:
    """The outcome of a commit: the version now current, and what changed (nothing: none written)."""

    version: KnowledgeVersion | None
    counts: KnowledgeCounts
    changed_ids: list[str]
    written: bool
    update_id: UUID

    def event(self) -> KbUpdated | None:
        """The schema 2 `kb.updated` that announces the version (None when none was written)."""
        if not self.written or self.version is None:
            return None
        return KbUpdated.referring(
            update_id=self.update_id,
            kb_version=self.version.version,
            previous_version=self.version.previous_version,
            pages=self.version.pages,
            counts=self.counts,
            changed_ids=self.changed_ids,
            actor=self.version.actor,
        )


@dataclass(frozen=True)
class LoadedKnowledge:
    """A version with its items, in manifest order (what a reader indexes)."""

    version: KnowledgeVersion
    refs: dict[str, ItemRef]
    items: dict[str, KnowledgeItem]
    fetched: int
    """How many items were read from the store (the others were held already)."""


def changes_between(
    before: Mapping[str, ItemRef], after: Mapping[str, ItemRef]
) -> tuple[KnowledgeCounts, list[str]]:
    added = [i for i in after if i not in before]
    changed = [i for i, r in after.items() if i in before and before[i] != r]
    removed = [i for i in before if i not in after]
    counts = KnowledgeCounts(
        added=len(added),
        changed=len(changed),
        removed=len(removed),
        unchanged=len(after) - len(added) - len(changed),
    )
    return counts, [*changed, *added, *removed]
