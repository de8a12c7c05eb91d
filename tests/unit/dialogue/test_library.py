"""The stored, live knowledge base: seeding, durable and live updates, catching up."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpdesk.dapr.ports import SidecarUnavailable, Stored
from helpdesk.events import KbUpdated, Language
from helpdesk.knowledge.entries import InvalidKnowledge, parse_entry
from helpdesk.memory_ports import MemoryStateStore
from services.dialogue.knowledge.library import (
    KNOWLEDGE_KEY,
    KnowledgeLibrary,
    knowledge_records,
    seed_knowledge,
)
from services.dialogue.settings import DEFAULT_KNOWLEDGE_PATH

YUBIKEY = parse_entry(
    {
        "id": "it-yubikey",
        "en": {"question": "How do I get a YubiKey security key?", "answer": "Order one on the IT portal."},
        "ja": {"question": "YubiKeyを入手するには？", "answer": "ITポータルで注文してください。"},
    }
)


def new_entry_update(version: str = "v-yubikey") -> KbUpdated:
    return KbUpdated.carrying([YUBIKEY], kb_version=version)


class DownStore(MemoryStateStore):
    async def get(self, key: str) -> Stored | None:
        raise SidecarUnavailable("down")


async def test_a_fresh_store_is_seeded_once_from_the_default_files() -> None:
    store = MemoryStateStore()
    first, second = KnowledgeLibrary(DEFAULT_KNOWLEDGE_PATH), KnowledgeLibrary(DEFAULT_KNOWLEDGE_PATH)
    await first.start(store)
    await second.start(store)
    stored = await knowledge_records(store).get(KNOWLEDGE_KEY)
    assert stored is not None
    assert store.writes == 1
    assert first.index.kb_version == second.index.kb_version == stored.kb_version
    assert len(first.index) == len(seed_knowledge(DEFAULT_KNOWLEDGE_PATH).entries)


async def test_a_stored_knowledge_base_wins_over_the_files(tmp_path: Path) -> None:
    store = MemoryStateStore()
    seeded = seed_knowledge(DEFAULT_KNOWLEDGE_PATH).applying(new_entry_update())
    assert seeded is not None
    await knowledge_records(store).create(KNOWLEDGE_KEY, seeded)
    library = KnowledgeLibrary(DEFAULT_KNOWLEDGE_PATH)
    await library.start(store)
    assert library.index.kb_version == "v-yubikey"
    assert library.index.get("it-yubikey") is not None


async def test_without_a_store_the_replica_answers_from_the_files() -> None:
    library = KnowledgeLibrary(DEFAULT_KNOWLEDGE_PATH)
    await library.start(DownStore())
    assert library.index.kb_version == seed_knowledge(DEFAULT_KNOWLEDGE_PATH).kb_version


async def test_a_durable_update_is_stored_and_indexed_and_a_redelivery_changes_nothing() -> None:
    store = MemoryStateStore()
    library = KnowledgeLibrary(DEFAULT_KNOWLEDGE_PATH)
    await library.start(store)
    assert library.index.get("it-yubikey") is None

    update = new_entry_update()
    assert await library.persist(update, store)
    writes = store.writes
    assert not await library.persist(update, store)
    assert store.writes == writes

    stored = await knowledge_records(store).get(KNOWLEDGE_KEY)
    assert stored is not None
    assert "it-yubikey" in stored.entries
    assert stored.kb_version == "v-yubikey"
    retrieval = library.index.search("How can I get a YubiKey?", Language.EN)
    assert retrieval.top is not None
    assert retrieval.top.entry.id == "it-yubikey"
    assert retrieval.kb_version == "v-yubikey"


async def test_a_live_update_reindexes_this_replica_without_the_store() -> None:
    library = KnowledgeLibrary(DEFAULT_KNOWLEDGE_PATH)
    await library.start(MemoryStateStore())
    assert await library.apply(new_entry_update())
    assert not await library.apply(
        new_entry_update().model_copy(update={"update_id": library.knowledge.applied_updates[0]})
    )
    retrieval = library.index.search("YubiKeyを入手したい", Language.JA)
    assert retrieval.top is not None
    assert retrieval.top.entry.id == "it-yubikey"


async def test_removing_an_entry_makes_it_unanswerable() -> None:
    library = KnowledgeLibrary(DEFAULT_KNOWLEDGE_PATH)
    await library.start(MemoryStateStore())
    await library.apply(KbUpdated.carrying([], removed=["it-password-reset"], kb_version="v-removed"))
    assert library.index.get("it-password-reset") is None
    top = library.index.search("I forgot my password", Language.EN).top
    assert top is not None
    assert top.entry.id != "it-password-reset"


async def test_a_replica_that_missed_a_live_update_catches_up_from_the_store() -> None:
    store = MemoryStateStore()
    writer, missed = KnowledgeLibrary(DEFAULT_KNOWLEDGE_PATH), KnowledgeLibrary(DEFAULT_KNOWLEDGE_PATH)
    await writer.start(store)
    await missed.start(store)
    await writer.persist(new_entry_update(), store)
    assert missed.index.get("it-yubikey") is None
    assert await missed.refresh(store)
    assert missed.index.get("it-yubikey") is not None
    assert not await missed.refresh(store)


async def test_a_replica_ahead_of_the_store_keeps_its_version() -> None:
    store = MemoryStateStore()
    library = KnowledgeLibrary(DEFAULT_KNOWLEDGE_PATH)
    await library.start(store)
    await library.apply(new_entry_update())
    assert not await library.refresh(store)
    assert library.index.kb_version == "v-yubikey"


async def test_an_update_with_invalid_entries_is_refused_and_changes_nothing() -> None:
    store = MemoryStateStore()
    library = KnowledgeLibrary(DEFAULT_KNOWLEDGE_PATH)
    await library.start(store)
    before = library.index.kb_version
    bad = KbUpdated.model_validate({**new_entry_update().model_dump(), "entries": [{"id": "bad entry"}]})
    with pytest.raises(InvalidKnowledge):
        await library.persist(bad, store)
    with pytest.raises(InvalidKnowledge):
        await library.apply(bad)
    assert library.index.kb_version == before
