"""A replica's knowledge base: schema 1 updates laid over a version, and the version the default files
are answered under."""

from __future__ import annotations

from pathlib import Path

from helpdesk.events import KbUpdated
from helpdesk.knowledge.entries import FaqEntry, parse_entry
from services.dialogue.knowledge.library import seed_knowledge, with_updates


def entry(ident: str, question: str, answer: str = "An answer.", **extra: object) -> FaqEntry:
    return parse_entry({"id": ident, "question": question, "answer": answer, **extra})


def update(*entries: FaqEntry, removed: tuple[str, ...] = (), version: str = "v2") -> KbUpdated:
    return KbUpdated.carrying(entries, removed=removed, kb_version=version)


def test_an_update_adds_changes_and_removes_entries() -> None:
    base = {e.id: e for e in [entry("a", "A?"), entry("b", "B?")]}
    after = with_updates(base, [update(entry("a", "A changed?"), entry("c", "C?"), removed=("b",))])
    assert sorted(after) == ["a", "c"]
    changed = after["a"]
    assert isinstance(changed, FaqEntry)
    assert changed.en is not None
    assert changed.en.question == "A changed?"
    assert base["a"].en is not None
    assert base["a"].en.question == "A?"


def test_a_late_older_change_does_not_overwrite_a_newer_one() -> None:
    newer = entry("a", "Newer?", updated_at="2026-11-20T10:00:00Z")
    older = entry("a", "Older?", updated_at="2026-11-01T10:00:00Z")
    after = with_updates({"a": newer}, [update(older, version="v0")])
    assert after["a"] is newer


def test_the_seed_version_is_the_same_for_the_same_files_and_changes_with_them(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("- id: a\n  en:\n    question: Q?\n    answer: A.\n")
    first, again = seed_knowledge(tmp_path), seed_knowledge(tmp_path)
    assert first.kb_version == again.kb_version
    (tmp_path / "a.yaml").write_text("- id: a\n  en:\n    question: Q?\n    answer: Another.\n")
    assert seed_knowledge(tmp_path).kb_version != first.kb_version
