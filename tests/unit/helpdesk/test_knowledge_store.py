"""The published knowledge store (claim check) over the in-memory KeyValueStore: versions are written
items first, manifest pages next and `kb:current` last; a failed write changes nothing and leaves no
garbage the next writer cannot clean; re-importing the same content writes nothing; readers re-use the
items they hold; old versions are retired one version late."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import orjson
import pytest

from helpdesk.dapr.ports import SidecarUnavailable
from helpdesk.events import KbUpdated
from helpdesk.knowledge.entries import FaqEntry, Passage, document_id, parse_entry, passage_id
from helpdesk.knowledge.store import (
    CURRENT_KEY,
    JOURNAL_KEY,
    LOCK_KEY,
    KnowledgeStore,
    KnowledgeStoreBusy,
)
from helpdesk.knowledge.versions import DocumentItems, DocumentRecord, ItemRef, KnowledgeEdit, SkippedNote
from helpdesk.memory_ports import MemoryStateStore


class RecordingStore(MemoryStateStore):
    """The in-memory store, recording the order of writes (bulk ones key by key) and failing the write
    numbered `fail_at`."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[str] = []
        self.fail_at: int | None = None

    def _count(self, key: str) -> None:
        if self.fail_at is not None and len(self.log) >= self.fail_at:
            raise SidecarUnavailable("simulated outage")
        self.log.append(key)

    async def save(
        self, key: str, value: bytes, *, etag: str | None = None, ttl_seconds: int | None = None
    ) -> None:
        self._count(key)
        await super().save(key, value, etag=etag, ttl_seconds=ttl_seconds)

    async def create(self, key: str, value: bytes, *, ttl_seconds: int | None = None) -> bool:
        if key != LOCK_KEY:
            self._count(key)
        return await super().create(key, value, ttl_seconds=ttl_seconds)


def passages(name: str, texts: Sequence[str], section: str = "Setup") -> list[Passage]:
    document = document_id(name)
    return [
        Passage(
            id=passage_id(document, [section], text),
            document_id=document,
            title=name.rsplit(".", 1)[0],
            section=(section,),
            text=text,
        )
        for text in texts
    ]


def record(name: str, data: bytes = b"v1", count: int = 0) -> DocumentRecord:
    return DocumentRecord(
        document_id=document_id(name),
        name=name,
        title=name,
        media_type="application/pdf",
        sha256=data.hex(),
        passages=count,
    )


def imported(name: str, texts: Sequence[str], data: bytes = b"v1") -> KnowledgeEdit:
    items = passages(name, texts)
    return KnowledgeEdit(documents=[DocumentItems(record(name, data, len(texts)), items)], actor="tests")


def entry(ident: str, answer: str = "Use the portal.") -> FaqEntry:
    return parse_entry({"id": ident, "question": f"How do I {ident}?", "answer": answer, "lang": "en"})


def item_keys(memory: MemoryStateStore) -> set[str]:
    return {key for key in memory.data if key.startswith("item:")}


async def test_an_empty_store_has_no_version_and_nothing_to_load() -> None:
    store = KnowledgeStore(MemoryStateStore())
    assert await store.current() is None
    assert await store.load() is None
    assert await store.documents() == {}


async def test_a_version_is_written_items_first_manifest_next_and_current_last() -> None:
    memory = RecordingStore()
    store = KnowledgeStore(memory, page_size=2)
    committed = await store.commit(imported("vpn-guide.pdf", ["Open the client.", "Sign in.", "Connect."]))

    assert committed.written
    assert committed.version is not None
    writes = [key for key in memory.log if key != JOURNAL_KEY]
    assert writes[-1] == CURRENT_KEY
    items = [k for k in writes if k.startswith("item:")]
    pages = [k for k in writes if k.startswith("manifest:")]
    assert len(items) == 3
    assert len(pages) == 2 == committed.version.pages
    assert max(writes.index(k) for k in items) < min(writes.index(k) for k in pages)
    assert max(writes.index(k) for k in pages) < writes.index(CURRENT_KEY)
    assert memory.log[0] == JOURNAL_KEY
    assert JOURNAL_KEY not in memory.data
    assert LOCK_KEY not in memory.data

    loaded = await store.load()
    assert loaded is not None
    assert [i.text for i in loaded.items.values() if isinstance(i, Passage)] == [
        p.text
        for p in sorted(
            passages("vpn-guide.pdf", ["Open the client.", "Sign in.", "Connect."]), key=lambda p: p.id
        )
    ]
    assert (await store.documents())[document_id("vpn-guide.pdf")].passages == 3


async def test_the_event_refers_to_the_version_and_carries_no_content() -> None:
    store = KnowledgeStore(MemoryStateStore())
    committed = await store.commit(imported("guide.docx", ["Secret passage text."]))
    event = committed.event()
    assert event is not None
    assert event.schema_version == 2
    assert not event.carries_entries
    assert event.kb_version == committed.version.version if committed.version else False
    assert event.counts.added == 1
    assert event.pages == 1
    assert "Secret passage text" not in event.model_dump_json()
    assert KbUpdated.model_validate_json(event.model_dump_json()) == event


async def test_importing_the_same_content_again_writes_nothing() -> None:
    memory = RecordingStore()
    store = KnowledgeStore(memory)
    first = await store.commit(imported("faq.xlsx", ["A.", "B."]))
    writes = len(memory.log)
    again = await store.commit(imported("faq.xlsx", ["A.", "B."]))
    assert not again.written
    assert again.event() is None
    assert again.version == first.version
    assert again.counts.nothing_changed
    assert again.counts.unchanged == 2
    assert len(memory.log) == writes


async def test_a_changed_document_replaces_only_its_changed_passages() -> None:
    memory = RecordingStore()
    store = KnowledgeStore(memory)
    await store.commit(imported("manual.pdf", ["Keep me.", "Change me.", "Drop me."]))
    await store.commit(imported("other.pdf", ["Another document."]))
    before = len(memory.log)
    committed = await store.commit(imported("manual.pdf", ["Keep me.", "Changed now."], data=b"v2"))

    new_items = [k for k in memory.log[before:] if k.startswith("item:")]
    assert len(new_items) == 1, "only the new passage is written"
    assert committed.counts.added == 1
    assert committed.counts.removed == 2
    assert committed.counts.unchanged == 2
    loaded = await store.load()
    assert loaded is not None
    texts = {i.text for i in loaded.items.values() if isinstance(i, Passage)}
    assert texts == {"Keep me.", "Changed now.", "Another document."}


async def test_removing_a_document_removes_its_passages_and_record_only() -> None:
    store = KnowledgeStore(MemoryStateStore())
    await store.commit(imported("a.md", ["Alpha one.", "Alpha two."]))
    await store.commit(KnowledgeEdit(put=[entry("reset-password")]))
    await store.commit(imported("b.md", ["Beta."]))
    committed = await store.commit(KnowledgeEdit(remove_documents=[document_id("a.md")]))

    assert committed.counts.removed == 2
    loaded = await store.load()
    assert loaded is not None
    assert sorted(loaded.items) == sorted([*(p.id for p in passages("b.md", ["Beta."])), "reset-password"])
    assert set(await store.documents()) == {document_id("b.md")}


async def test_a_failed_write_changes_nothing_and_its_garbage_is_collected_by_the_next_writer() -> None:
    memory = RecordingStore()
    store = KnowledgeStore(memory, bulk_items=1)
    first = await store.commit(imported("manual.pdf", ["One."]))
    held = dict(memory.data)

    memory.fail_at = len(memory.log) + 3  # the journal, then two of the three new items
    with pytest.raises(SidecarUnavailable):
        await store.commit(imported("manual.pdf", ["Two.", "Three.", "Four."], data=b"v2"))
    memory.fail_at = None
    assert await store.current() == first.version
    loaded = await store.load()
    assert loaded is not None
    assert [i.text for i in loaded.items.values() if isinstance(i, Passage)] == ["One."]
    orphans = item_keys(memory) - {k for k in held if k.startswith("item:")}
    assert len(orphans) == 2
    assert JOURNAL_KEY in memory.data
    assert LOCK_KEY not in memory.data

    await store.commit(KnowledgeEdit(put=[entry("vpn")]))
    assert not orphans & item_keys(memory), "the abandoned version's items are deleted"
    assert JOURNAL_KEY not in memory.data


async def test_old_versions_are_retired_one_version_late() -> None:
    memory = MemoryStateStore()
    store = KnowledgeStore(memory)
    first = await store.commit(imported("m.pdf", ["First."]))
    second = await store.commit(imported("m.pdf", ["Second."], data=b"v2"))
    assert first.version is not None
    assert second.version is not None
    first_key = f"item:{passages('m.pdf', ['First.'])[0].id}"
    assert any(k.startswith(first_key) for k in memory.data), "the previous version stays readable"
    assert any(k.startswith(f"manifest:{first.version.version}:") for k in memory.data)

    await store.commit(imported("m.pdf", ["Third."], data=b"v3"))
    assert not any(k.startswith(first_key) for k in memory.data)
    assert not any(k.startswith(f"manifest:{first.version.version}:") for k in memory.data)
    assert any(k.startswith(f"manifest:{second.version.version}:") for k in memory.data)
    assert len(item_keys(memory)) == 2


async def test_the_previous_version_stays_whole_while_the_one_before_is_retired() -> None:
    """A reader still loading the previous version finds every item it names."""
    store = KnowledgeStore(MemoryStateStore())
    await store.commit(imported("m.pdf", ["Kept."]))
    second = await store.commit(imported("m.pdf", ["Kept.", "Added."], data=b"v2"))
    await store.commit(imported("m.pdf", ["Replaced."], data=b"v3"))
    assert second.version is not None
    previous = await store.manifest(second.version.version, second.version.pages)
    assert len(await store.items(previous)) == 2


async def test_a_reader_reads_only_the_items_that_changed() -> None:
    store = KnowledgeStore(MemoryStateStore())
    await store.commit(imported("big.pdf", [f"Passage {n}." for n in range(50)]))
    first = await store.load()
    assert first is not None
    assert first.fetched == 50
    await store.commit(KnowledgeEdit(put=[entry("printer")]))
    second = await store.load(first)
    assert second is not None
    assert second.fetched == 1
    assert len(second.items) == 51
    assert await store.load(second) is second


async def test_the_same_update_is_written_once() -> None:
    store = KnowledgeStore(MemoryStateStore())
    edit = KnowledgeEdit(put=[entry("wifi")], update_id=uuid.uuid4())
    first = await store.commit(edit)
    await store.commit(KnowledgeEdit(remove_ids=["wifi"]))
    again = await store.commit(edit)
    assert first.written
    assert not again.written
    loaded = await store.load()
    assert loaded is not None
    assert "wifi" not in loaded.items


async def test_an_id_moves_to_the_document_that_imports_it_last() -> None:
    store = KnowledgeStore(MemoryStateStore())
    await store.commit(KnowledgeEdit(put=[entry("vpn")]))
    sheet = record("faq.csv")
    moved = KnowledgeEdit(documents=[DocumentItems(sheet, [entry("vpn", "New answer.")])])
    committed = await store.commit(moved)
    assert committed.counts.changed == 1
    await store.commit(KnowledgeEdit(remove_documents=[sheet.document_id]))
    loaded = await store.load()
    assert loaded is not None
    assert loaded.items == {}


async def test_one_version_may_hold_several_documents_and_loose_entries() -> None:
    store = KnowledgeStore(MemoryStateStore())
    sheets = [DocumentItems(record(f"{name}.yaml"), [entry(name)]) for name in ("it", "hr")]
    committed = await store.commit(KnowledgeEdit(documents=sheets, put=[entry("learned")]))
    assert committed.counts.added == 3
    assert committed.version is not None
    assert committed.version.sequence == 1
    assert set(await store.documents()) == {document_id("it.yaml"), document_id("hr.yaml")}
    again = await store.commit(KnowledgeEdit(documents=sheets[:1]))
    assert not again.written


async def test_seeding_writes_only_into_an_empty_store() -> None:
    store = KnowledgeStore(MemoryStateStore())
    seeded = await store.commit(KnowledgeEdit(put=[entry("seed")]), only_when_empty=True)
    again = await store.commit(KnowledgeEdit(put=[entry("other")]), only_when_empty=True)
    assert seeded.written
    assert not again.written
    loaded = await store.load()
    assert loaded is not None
    assert list(loaded.items) == ["seed"]


async def test_one_writer_at_a_time() -> None:
    memory = MemoryStateStore()
    await memory.create(LOCK_KEY, orjson.dumps("someone else"))
    busy = KnowledgeStore(memory, wait_seconds=0.3)
    with pytest.raises(KnowledgeStoreBusy):
        await busy.commit(KnowledgeEdit(put=[entry("a")]))

    free = KnowledgeStore(MemoryStateStore())
    results = await asyncio.gather(
        free.commit(KnowledgeEdit(put=[entry("a")])), free.commit(KnowledgeEdit(put=[entry("b")]))
    )
    assert all(r.written for r in results)
    loaded = await free.load()
    assert loaded is not None
    assert set(loaded.items) == {"a", "b"}
    assert loaded.version.sequence == 2


async def test_a_document_record_keeps_a_bounded_list_of_skipped_parts() -> None:
    notes = [SkippedNote(part=f"row {n}", reason="no answer") for n in range(500)]
    kept = record("faq.csv").with_skipped(notes)
    assert len(kept.skipped) == 50
    assert kept.skipped_count == 500


async def test_twenty_thousand_passages_give_events_far_below_the_brokers_limits() -> None:
    """Service Bus Standard takes 256 KB a message; the design keeps every event under 64 KB."""
    store = KnowledgeStore(MemoryStateStore())
    texts = [f"Step {n}: open settings page {n} and press apply." for n in range(20_000)]
    committed = await store.commit(imported("huge-manual.pdf", texts))
    event = committed.event()
    assert event is not None
    assert event.counts.added == 20_000
    size = len(event.model_dump_json().encode())
    assert size < 16 * 1024, size
    assert not event.changed_ids_complete
    assert len(event.changed_ids) == 100
    changed = await store.commit(imported("huge-manual.pdf", texts[:-1], data=b"v2"))
    assert changed.event() is not None
    assert changed.counts.removed == 1
    assert len(changed.event().model_dump_json()) < 4 * 1024  # type: ignore[union-attr]


def test_item_refs_name_a_content_addressed_key() -> None:
    one, other = entry("a", "One answer."), entry("a", "Another answer.")
    assert ItemRef.of(one).key != ItemRef.of(other).key
    assert ItemRef.of(one).key == ItemRef.of(entry("a", "One answer.")).key
    assert ItemRef.of(one).key.startswith("item:a:")


async def test_a_put_replacing_a_documents_item_keeps_it_in_the_document() -> None:
    """An approved wording rewrites its entry: the entry stays its file's, so the file dropping it (or
    the document's removal) still takes it out."""
    store = KnowledgeStore(MemoryStateStore())
    sheet = record("faq.csv")
    await store.commit(KnowledgeEdit(documents=[DocumentItems(sheet, [entry("vpn"), entry("wifi")])]))
    await store.commit(KnowledgeEdit(put=[entry("vpn", "With a learned wording.")]))
    loaded = await store.load()
    assert loaded is not None
    assert loaded.refs["vpn"].document == sheet.document_id
    await store.commit(KnowledgeEdit(documents=[DocumentItems(sheet, [entry("wifi")])]))
    loaded = await store.load()
    assert loaded is not None
    assert set(loaded.items) == {"wifi"}
