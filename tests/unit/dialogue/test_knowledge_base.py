"""dialogue's stored knowledge base: how a kb.updated changes it, and the version it is seeded with."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from helpdesk.events import KbUpdated
from helpdesk.knowledge.entries import FaqEntry, InvalidKnowledge, parse_entry
from services.dialogue.knowledge.library import KnowledgeBase, seed_knowledge


def entry(ident: str, question: str, answer: str = "An answer.", **extra: object) -> FaqEntry:
    return parse_entry({"id": ident, "question": question, "answer": answer, **extra})


def update(*entries: FaqEntry, removed: tuple[str, ...] = (), version: str = "v2") -> KbUpdated:
    return KbUpdated.carrying(entries, removed=removed, kb_version=version)


def test_an_update_adds_changes_and_removes_entries_and_records_the_version() -> None:
    base = KnowledgeBase(kb_version="v1", entries={e.id: e for e in [entry("a", "A?"), entry("b", "B?")]})
    changed = entry("a", "A changed?")
    event = update(changed, entry("c", "C?"), removed=("b",))
    after = base.applying(event)
    assert after is not None
    assert sorted(after.entries) == ["a", "c"]
    assert after.entries["a"].en is not None
    assert after.entries["a"].en.question == "A changed?"
    assert after.kb_version == "v2"
    assert after.has_applied(event.update_id)
    assert base.entries["a"].en is not None
    assert base.entries["a"].en.question == "A?"


def test_the_same_update_twice_changes_nothing() -> None:
    base = KnowledgeBase(kb_version="v1")
    event = update(entry("a", "A?"))
    once = base.applying(event)
    assert once is not None
    assert once.applying(event) is None


def test_a_late_older_change_does_not_overwrite_a_newer_one() -> None:
    newer = entry("a", "Newer?", updated_at="2026-11-20T10:00:00Z")
    older = entry("a", "Older?", updated_at="2026-11-01T10:00:00Z")
    base = KnowledgeBase(kb_version="v1", entries={"a": newer})
    after = base.applying(update(older, version="v0"))
    assert after is not None
    assert after.entries["a"].en is not None
    assert after.entries["a"].en.question == "Newer?"


def test_an_update_with_an_invalid_entry_is_refused_whole() -> None:
    event = KbUpdated(update_id=uuid.uuid4(), kb_version="v2", added=["x"], entries=[{"id": "x"}])
    with pytest.raises(InvalidKnowledge):
        KnowledgeBase(kb_version="v1").applying(event)


def test_the_seed_version_is_the_same_for_the_same_files_and_changes_with_them(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("- id: a\n  en:\n    question: Q?\n    answer: A.\n")
    first, again = seed_knowledge(tmp_path), seed_knowledge(tmp_path)
    assert first.kb_version == again.kb_version
    (tmp_path / "a.yaml").write_text("- id: a\n  en:\n    question: Q?\n    answer: Another.\n")
    assert seed_knowledge(tmp_path).kb_version != first.kb_version
