"""Knowledge files: the default knowledge base, the layouts a file may use, and reading strictly (to
seed or publish) or setting invalid entries aside (to follow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpdesk.events import KbUpdated
from helpdesk.knowledge.entries import InvalidKnowledge, parse_entry
from helpdesk.knowledge.files import read_entries, read_valid_entries

DEFAULT_KNOWLEDGE_PATH = Path(__file__).resolve().parents[3] / "knowledge"
TASK_INTENTS = {
    "password_reset", "account_locked", "vpn", "email", "wifi", "printer", "software_install",
    "hardware_issue", "leave_request", "expenses", "payroll", "onboarding", "access_request", "meeting_room",
}  # fmt: skip
NLP_INTENTS = TASK_INTENTS | {"mfa", "teams_collaboration", "ticket_status"}


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


def test_a_kb_update_event_is_built_from_a_jsonl_file(tmp_path: Path) -> None:
    path = tmp_path / "new.jsonl"
    lines = [
        {"id": "it-new", "question": "How do I get a YubiKey?", "answer": "Order one in the portal."},
        {"id": "it-password-reset", "question": "Reset?", "answer": "Portal.", "lang": "en"},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    event = KbUpdated.carrying(
        read_entries(path), known_ids=["it-password-reset"], kb_version="ops-1", actor="alice"
    )
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


def test_a_missing_knowledge_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_entries(tmp_path / "nowhere")


def test_a_follower_reads_the_valid_entries_and_sets_the_rest_aside(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(
        '{"id": "leave", "question": "How many days of leave do I have?", "answer": "See the HR portal."}\n'
        "not json\n"
        '{"id": "broken"}\n'
        '{"id": "vpn", "question": "VPN?", "answer": "Install the client."}\n',
        encoding="utf-8",
    )
    (tmp_path / "b.yaml").write_text("- id: [unclosed\n", encoding="utf-8")
    entries, rejected = read_valid_entries(tmp_path)
    assert [e.id for e in entries] == ["leave", "vpn"]
    assert [r.id for r in rejected] == [None, "broken", None]
    assert rejected[0].reason == "a.jsonl:2 is not JSON"
    assert rejected[2].reason.startswith("b.yaml is not YAML")
    with pytest.raises(InvalidKnowledge):
        read_entries(tmp_path / "a.jsonl")
    with pytest.raises(InvalidKnowledge):
        read_entries(tmp_path / "b.yaml")
