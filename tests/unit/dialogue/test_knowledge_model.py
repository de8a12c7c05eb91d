"""The knowledge base as data: entry shapes, the default files, and kb.updated deltas."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from helpdesk.events import KbUpdated, Language
from services.dialogue.knowledge.files import kb_update, kb_update_from_file, read_entries, seed_knowledge
from services.dialogue.knowledge.model import FaqEntry, InvalidKnowledge, KnowledgeBase, parse_entry
from services.dialogue.settings import DEFAULT_KNOWLEDGE_PATH

TASK_INTENTS = {
    "password_reset", "account_locked", "vpn", "email", "wifi", "printer", "software_install",
    "hardware_issue", "leave_request", "expenses", "payroll", "onboarding", "access_request", "meeting_room",
}  # fmt: skip
NLP_INTENTS = TASK_INTENTS | {"mfa", "teams_collaboration", "ticket_status"}


def entry(ident: str, question: str, answer: str = "An answer.", **extra: object) -> FaqEntry:
    return parse_entry({"id": ident, "question": question, "answer": answer, **extra})


def update(*entries: FaqEntry, removed: tuple[str, ...] = (), version: str = "v2") -> KbUpdated:
    return kb_update(entries, removed=removed, kb_version=version)


def test_the_default_knowledge_base_is_bilingual_complete_and_maps_to_nlp_intents() -> None:
    entries = read_entries(DEFAULT_KNOWLEDGE_PATH)
    assert len(entries) >= 40
    assert len({e.id for e in entries}) == len(entries)
    for e in entries:
        assert e.en is not None, e.id
        assert e.ja is not None, e.id
        for _, text in e.versions():
            assert text.alternatives, e.id
        assert e.tags, e.id
        assert e.owner != "helpdesk", e.id
        assert set(e.intents) <= NLP_INTENTS, e.id
    assert {i for e in entries for i in e.intents} >= TASK_INTENTS


def test_japanese_answers_are_not_broken_by_line_folding() -> None:
    for e in read_entries(DEFAULT_KNOWLEDGE_PATH):
        assert e.ja is not None
        assert "。 " not in e.ja.answer, e.id
        assert "、 " not in e.ja.answer, e.id


def test_the_flat_form_is_one_language_version() -> None:
    flat = parse_entry(
        {"id": "x-1", "question": "Q?", "answer": "A.", "alternatives": ["Q2?", " "], "lang": "ja"}
    )
    assert flat.en is None
    assert flat.ja is not None
    assert flat.ja.phrasings == ("Q?", "Q2?")
    assert flat.text(Language.EN) is flat.ja


def test_the_flat_form_without_a_language_takes_the_questions() -> None:
    assert (
        parse_entry({"id": "x-1", "question": "休暇の申請方法は？", "answer": "ポータルから。"}).ja
        is not None
    )
    assert (
        parse_entry({"id": "x-2", "question": "How do I book leave?", "answer": "In the portal."}).en
        is not None
    )


def test_an_entry_from_the_evaluator_is_accepted_with_its_extra_fields() -> None:
    learned = parse_entry(
        {
            "id": "learned-abc123",
            "category": "learned",
            "owner": "agent-7",
            "updated_at": "2026-11-20T10:00:00+00:00",
            "source": "handoff",
            "en": {
                "question": "How do I order business cards?",
                "alternatives": [],
                "answer": "Use the form.",
            },
        }
    )
    assert learned.en is not None
    assert learned.updated_at == datetime(2026, 11, 20, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    "raw",
    [
        {"id": "x", "category": "it"},
        {"id": "../etc", "question": "Q", "answer": "A"},
        {"id": "x", "question": "", "answer": "A"},
        {"id": "x", "en": {"question": "Q"}},
        "not an entry",
    ],
)
def test_invalid_entries_are_refused(raw: object) -> None:
    with pytest.raises(InvalidKnowledge):
        parse_entry(raw)


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


def test_a_kb_update_event_is_built_from_a_jsonl_file(tmp_path: Path) -> None:
    path = tmp_path / "new.jsonl"
    lines = [
        {"id": "it-new", "question": "How do I get a YubiKey?", "answer": "Order one in the portal."},
        {"id": "it-password-reset", "question": "Reset?", "answer": "Portal.", "lang": "en"},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    event = kb_update_from_file(path, known_ids=["it-password-reset"], kb_version="ops-1", actor="alice")
    assert event.added == ["it-new"]
    assert event.changed == ["it-password-reset"]
    assert event.kb_version == "ops-1"
    assert event.actor == "alice"
    assert [parse_entry(raw).id for raw in event.entries] == ["it-new", "it-password-reset"]


def test_a_yaml_file_with_an_entries_key_is_read(tmp_path: Path) -> None:
    (tmp_path / "extra.yaml").write_text(
        "entries:\n  - id: hr-x\n    ja:\n      question: 質問？\n      answer: 回答です。\n"
    )
    [read] = read_entries(tmp_path)
    assert read.ja is not None
    assert read.ja.question == "質問？"


def test_the_seed_version_is_the_same_for_the_same_files_and_changes_with_them(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("- id: a\n  en:\n    question: Q?\n    answer: A.\n")
    first, again = seed_knowledge(tmp_path), seed_knowledge(tmp_path)
    assert first.kb_version == again.kb_version
    (tmp_path / "a.yaml").write_text("- id: a\n  en:\n    question: Q?\n    answer: Another.\n")
    assert seed_knowledge(tmp_path).kb_version != first.kb_version


def test_a_missing_knowledge_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_entries(tmp_path / "nowhere")
