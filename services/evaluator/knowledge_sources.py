"""The operator's knowledge sources: files imported into the knowledge base, listed and removed.

The evaluator is the knowledge store's one writer (it owns `kb.updated`): an import reads the file in a
worker process (`SourceReader`), replaces the document's items in one new knowledge version (or writes
nothing when they are unchanged) and publishes a `kb.updated` that names the version. The same path
takes approved FAQ candidates, the default knowledge files that seed an empty store, and the entries
of schema 1 updates sent before the store existed. A file that is refused changes nothing in the
knowledge base; the refusal is kept in the import history operators see with the sources.

A re-import keeps the wordings learned for the entries it writes (issue 19): each approved wording of a
file's entry (`LearnedWordings`) is added to the entry's alternatives unless the file has it already or
the entry no longer has its language; entries the file drops are not brought back. Which approved
wordings the file lists itself is noted on their candidates: those are the file's, and withdrawing one
leaves the entry as the file wrote it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Protocol
from uuid import UUID

import orjson
from pydantic import BaseModel, Field

from helpdesk.dapr.ports import ETagMismatch, EventPublisher, KeyValueStore, SidecarUnavailable
from helpdesk.dapr.state import Records
from helpdesk.errors import DomainError
from helpdesk.events import KbUpdated, KnowledgeCounts, utcnow
from helpdesk.knowledge.entries import FaqEntry, KnowledgeItem, sort_entries
from helpdesk.knowledge.files import knowledge_files
from helpdesk.knowledge.importing import ImportedSource, ImportRefused
from helpdesk.knowledge.store import KnowledgeStore
from helpdesk.knowledge.versions import (
    KEEP_SKIPPED,
    Committed,
    DocumentItems,
    DocumentRecord,
    KnowledgeEdit,
    SkippedNote,
)
from helpdesk.logging import get_logger
from services.evaluator.candidates.wordings import LearnedWording, with_wording
from services.evaluator.knowledge import LEARNED_KEY, KnowledgeFollower, skip_rejected
from services.evaluator.source_reader import SourceReader

_log = get_logger(__name__)

KEEP_IMPORTS = 100
HISTORY_KEY = "recent"
MAX_NAME_CHARS = 300
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f\\]")


class SourceNotFound(DomainError):
    status = 404
    kind = "source-not-found"
    title = "No such knowledge source"


class BadSourceName(DomainError):
    status = 422
    kind = "bad-source-name"
    title = "The file name cannot be used"


class SourceOutcome(StrEnum):
    IMPORTED = "imported"
    """A new knowledge version holds the file's items."""
    UNCHANGED = "unchanged"
    """The knowledge base holds these items already: nothing was written, no kb.updated published."""
    REFUSED = "refused"
    """The file was not imported (see `error`); the knowledge base is as it was."""
    REMOVED = "removed"


class RefusalNote(BaseModel):
    kind: str
    detail: str


class ImportSummary(BaseModel):
    """What one import (or removal) did: the operator's answer, and one line of the import history."""

    name: str
    document_id: str | None = None
    outcome: SourceOutcome
    title: str | None = None
    media_type: str | None = None
    kb_version: str | None = None
    """The knowledge version after the import (the one already current when nothing changed)."""
    faq_entries: int = 0
    passages: int = 0
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    flagged: int = 0
    """Passages that read like instructions to the assistant: kept for operators, never answered from."""
    skipped: list[SkippedNote] = Field(default_factory=list)
    skipped_count: int = 0
    kept_wordings: int = 0
    """Learned wordings of the file's entries that the file lacked and the import kept."""
    error: RefusalNote | None = None
    at: datetime = Field(default_factory=utcnow)
    actor: str = "operator"


class ImportHistory(BaseModel):
    imports: list[ImportSummary] = Field(default_factory=list)
    """The latest first, at most `KEEP_IMPORTS`."""


class SourcesView(BaseModel):
    """The knowledge base's sources as operators see them."""

    kb_version: str | None
    items: int
    documents: list[DocumentRecord]
    recent: list[ImportSummary]


class LearnedWordings(Protocol):
    """The wordings learned from users and approved (the candidate side keeps them)."""

    async def approved_wordings(self, faq_ids: Collection[str]) -> list[LearnedWording]:
        """The approved wordings of these entries, in the order they were approved."""
        ...

    async def listed_by_files(
        self, listed: Collection[LearnedWording], unlisted: Collection[LearnedWording]
    ) -> None:
        """Note which approved wordings the entries' files list themselves (`listed`) and which not."""
        ...


@dataclass(frozen=True, slots=True)
class KeptWordings:
    """A file's entries with the learned wordings a re-import keeps."""

    entries: list[FaqEntry]
    kept: list[LearnedWording]
    """Added to their entry's alternatives: the file lacks them."""
    listed: list[LearnedWording]
    """Not added: the file's entry lists them itself."""
    others: list[LearnedWording]
    """Neither: the file lacks them, and their entry or its language (nothing of theirs to list)."""


def with_learned_wordings(entries: Sequence[FaqEntry], learned: Sequence[LearnedWording]) -> KeptWordings:
    """The entries with each learned wording of theirs added (in its language, when the entry still has
    it and lacks the wording), and which were added."""
    by_id = {entry.id: entry for entry in entries}
    kept: list[LearnedWording] = []
    listed: list[LearnedWording] = []
    others: list[LearnedWording] = []
    for wording in learned:
        entry = by_id.get(wording.faq_id)
        if entry is None or entry.texts.get(wording.language) is None:
            others.append(wording)
            continue
        at = max(entry.updated_at, wording.approved_at)
        added = with_wording(entry, wording.language, wording.wording, at)
        if added is entry:
            listed.append(wording)
        else:
            by_id[entry.id] = added
            kept.append(wording)
    return KeptWordings([by_id[entry.id] for entry in entries], kept, listed, others)


def import_name(name: str) -> str:
    """The name a file is imported under (it gives the document's id): a file name, or a path relative
    to the directory an operator imported; no control characters, no absolute path, no `..`."""
    cleaned = name.strip().replace("\\", "/")
    parts = [p for p in cleaned.split("/") if p not in ("", ".")]
    if not parts or ".." in parts or _UNSAFE_NAME.search(name) or len(cleaned) > MAX_NAME_CHARS:
        raise BadSourceName("Give the file's name (at most 300 characters, no control characters or '..').")
    return "/".join(parts)


def document_record(source: ImportedSource, actor: str) -> DocumentRecord:
    skipped = [SkippedNote(part=s.part, reason=s.reason) for s in source.skipped]
    return DocumentRecord(
        document_id=source.document_id,
        name=source.name,
        title=source.title,
        media_type=source.media_type,
        sha256=source.sha256,
        language=source.language.value,
        actor=actor,
        faq_entries=len(source.faq_entries),
        passages=len(source.passages),
        flagged=source.flagged,
    ).with_skipped(skipped)


class KnowledgeSources:
    """Imports, removals and the sources list; the one writer of the knowledge store."""

    def __init__(
        self,
        store: KnowledgeStore,
        bus: EventPublisher,
        state: KeyValueStore,
        reader: SourceReader,
        follower: KnowledgeFollower,
        learned_wordings: LearnedWordings | None = None,
    ) -> None:
        """`learned_wordings` gives the approved wordings an import keeps (None: an import writes the
        file's entries as they are)."""
        self._store = store
        self._bus = bus
        self._state = state
        self._history = Records(state, ImportHistory, "knowledge-imports")
        self._reader = reader
        self._follower = follower
        self._learned_wordings = learned_wordings

    # ---- operators ---------------------------------------------------------------------------------

    async def import_file(self, name: str, data: bytes, actor: str) -> ImportSummary:
        """Import one file; `ImportRefused` (recorded in the history) when it is not imported."""
        name = import_name(name)
        try:
            source = await self._reader.read(name, data)
        except ImportRefused as exc:
            refused = ImportSummary(
                name=name,
                outcome=SourceOutcome.REFUSED,
                error=RefusalNote(kind=exc.kind, detail=exc.detail),
                actor=actor,
            )
            await self._remember(refused)
            raise
        record = document_record(source, actor)
        learned = await self._keep_learned_wordings(source.faq_entries)
        kept_wordings = len(learned.kept)
        items: list[KnowledgeItem] = [*learned.entries, *source.passages]
        committed = await self._store.commit(
            KnowledgeEdit(documents=[DocumentItems(record, items)], actor=actor)
        )
        await self._announce(committed)
        await self._note_listed(learned)
        in_file = len(items)
        summary = ImportSummary(
            name=name,
            document_id=source.document_id,
            outcome=SourceOutcome.IMPORTED if committed.written else SourceOutcome.UNCHANGED,
            title=source.title,
            media_type=source.media_type,
            kb_version=committed.version.version if committed.version else None,
            faq_entries=len(source.faq_entries),
            passages=len(source.passages),
            added=committed.counts.added,
            changed=committed.counts.changed,
            unchanged=max(in_file - committed.counts.added - committed.counts.changed, 0),
            removed=committed.counts.removed,
            flagged=source.flagged,
            skipped=list(record.skipped),
            skipped_count=record.skipped_count,
            kept_wordings=kept_wordings,
            actor=actor,
        )
        await self._remember(summary)
        _log.info(
            "knowledge_source_imported",
            document_id=source.document_id,
            outcome=summary.outcome.value,
            kb_version=summary.kb_version,
            added=summary.added,
            changed=summary.changed,
            removed=summary.removed,
            skipped=summary.skipped_count,
            flagged=summary.flagged,
            kept_wordings=kept_wordings,
        )
        return summary

    async def remove(self, document_id: str, actor: str) -> ImportSummary:
        """Take a document and all its items out of the knowledge base."""
        record = (await self._store.documents()).get(document_id)
        if record is None:
            raise SourceNotFound("The knowledge base has no document with this id.")
        committed = await self._store.commit(KnowledgeEdit(remove_documents=[document_id], actor=actor))
        await self._announce(committed)
        summary = ImportSummary(
            name=record.name,
            document_id=document_id,
            outcome=SourceOutcome.REMOVED,
            title=record.title,
            media_type=record.media_type,
            kb_version=committed.version.version if committed.version else None,
            removed=committed.counts.removed,
            actor=actor,
        )
        await self._remember(summary)
        return summary

    async def sources(self) -> SourcesView:
        version = await self._store.current()
        documents = await self._store.documents(version) if version else {}
        history = await self._history.get(HISTORY_KEY)
        return SourcesView(
            kb_version=version.version if version else None,
            items=version.items if version else 0,
            documents=sorted(documents.values(), key=lambda d: d.name),
            recent=history.imports if history else [],
        )

    async def _keep_learned_wordings(self, entries: Sequence[FaqEntry]) -> KeptWordings:
        if self._learned_wordings is None or not entries:
            return KeptWordings(list(entries), [], [], [])
        learned = await self._learned_wordings.approved_wordings({entry.id for entry in entries})
        return with_learned_wordings(entries, learned)

    async def _note_listed(self, learned: KeptWordings) -> None:
        """Tell the candidate side which wordings the file lists itself. The import is done whatever
        happens here: a note not written is written by the file's next import."""
        if self._learned_wordings is None or not (learned.kept or learned.listed or learned.others):
            return
        try:
            await self._learned_wordings.listed_by_files(learned.listed, [*learned.kept, *learned.others])
        except (SidecarUnavailable, ETagMismatch):
            _log.warning("learned_wordings_not_noted", listed=len(learned.listed))

    # ---- the other writers -------------------------------------------------------------------------

    async def learn(self, entry: FaqEntry, update_id: UUID, actor: str) -> KbUpdated:
        """Add an approved entry; publishes (again, when the store has it already: a publish that
        failed is repeated with the same update id, which consumers recognise)."""
        committed = await self._store.commit(KnowledgeEdit(put=[entry], update_id=update_id, actor=actor))
        event = committed.event() or self._repeat(committed, update_id, actor)
        await self._bus.publish(event)
        await self._follower.refresh()
        return event

    async def adopt(self, update: KbUpdated) -> None:
        """Write a schema 1 update's entries into the store, so every replica (and every replica
        started later) converges on them."""
        if not update.carries_entries:
            return
        skip_rejected(update.rejected_entries, "update")
        edit = KnowledgeEdit(
            put=list(update.entries),
            remove_ids=update.removed,
            update_id=update.update_id,
            actor=update.actor,
        )
        await self._announce(await self._store.commit(edit))

    async def seed(self, directory: Path) -> Committed | None:
        """Write the default knowledge files (each a document) and the entries approved before the
        store existed as the first version, when the store has none."""
        if await self._store.current() is not None:
            return None
        documents = []
        files = await asyncio.to_thread(lambda: knowledge_files(directory) if directory.exists() else [])
        for path in files:
            try:
                source = await self._reader.read(path.name, await asyncio.to_thread(path.read_bytes))
            except ImportRefused as exc:
                _log.warning("knowledge_seed_file_skipped", file=path.name, reason=exc.detail)
                continue
            documents.append(DocumentItems(document_record(source, "seed"), list(source.faq_entries)))
        edit = KnowledgeEdit(documents=documents, put=await self._learned_before(), actor="seed")
        committed = await self._store.commit(edit, only_when_empty=True)
        await self._announce(committed)
        return committed

    async def _learned_before(self) -> list[FaqEntry]:
        stored = await self._state.get(LEARNED_KEY)
        learned, rejected = sort_entries(orjson.loads(stored.value) if stored else [])
        skip_rejected(rejected, "learned")
        return learned

    # ---- announcing --------------------------------------------------------------------------------

    async def _announce(self, committed: Committed) -> None:
        """Publish the new version (if one was written) and follow it here. A lost publish is logged:
        every reader still finds the version at its next look (`knowledge_refresh_seconds`)."""
        event = committed.event()
        if event is not None:
            try:
                await self._bus.publish(event)
            except SidecarUnavailable:
                _log.warning("knowledge_update_not_published", kb_version=event.kb_version)
        await self._follower.refresh()

    @staticmethod
    def _repeat(committed: Committed, update_id: UUID, actor: str) -> KbUpdated:
        version = committed.version
        assert version is not None
        return KbUpdated.referring(
            update_id=update_id,
            kb_version=version.version,
            previous_version=version.previous_version,
            pages=version.pages,
            counts=KnowledgeCounts(unchanged=version.items),
            changed_ids=[],
            actor=actor,
        )

    async def _remember(self, summary: ImportSummary) -> None:
        def add(history: ImportHistory | None) -> ImportHistory:
            imports = [summary.model_copy(update={"skipped": summary.skipped[:KEEP_SKIPPED]})]
            return ImportHistory(imports=[*imports, *(history.imports if history else [])][:KEEP_IMPORTS])

        try:
            await self._history.update(HISTORY_KEY, add)
        except SidecarUnavailable:
            _log.warning("knowledge_import_not_recorded", name=summary.name)
