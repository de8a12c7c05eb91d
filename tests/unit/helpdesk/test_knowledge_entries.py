"""The knowledge contract: what a FAQ entry is, its content digest, and how `kb.updated` carries
entries (valid ones typed, invalid received ones set aside for the consumer to judge)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from helpdesk.events import KbUpdated, Language
from helpdesk.knowledge.entries import FaqEntry, InvalidKnowledge, RejectedEntry, parse_entry, sort_entries


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


def test_the_digest_follows_the_content_not_the_time_or_the_key_order() -> None:
    raw = {"id": "x-1", "en": {"question": "Q?", "answer": "A."}, "tags": ["a"]}
    first = parse_entry({**raw, "updated_at": "2026-11-01T10:00:00Z"})
    later = parse_entry({"updated_at": "2026-11-20T10:00:00Z", **dict(reversed(list(raw.items())))})
    assert first.digest == later.digest
    assert len(first.digest) == 64
    assert parse_entry({**raw, "en": {"question": "Q?", "answer": "B."}}).digest != first.digest
    assert parse_entry({**raw, "id": "x-2"}).digest != first.digest


def test_each_entry_is_validated_on_its_own() -> None:
    good = parse_entry({"id": "a", "question": "Q?", "answer": "A."})
    valid, rejected = sort_entries([good, {"id": "b", "question": "B?", "answer": "B."}, {"id": "c"}, "junk"])
    assert [e.id for e in valid] == ["a", "b"]
    assert valid[0] is good
    assert rejected == [
        RejectedEntry("c", "entry 'c' is invalid: shape"),
        RejectedEntry(None, "entry None is invalid: shape"),
    ]


def test_a_received_update_sets_invalid_entries_aside_and_keeps_the_valid_ones() -> None:
    wire = {
        "update_id": str(uuid.uuid4()),
        "kb_version": "v2",
        "added": ["ok", "bad id"],
        "entries": [
            {"id": "ok", "en": {"question": "Q?", "answer": "A."}},
            {"id": "bad id", "question": "Q?"},
        ],
    }
    received = KbUpdated.model_validate_json(json.dumps(wire))
    assert [e.id for e in received.entries] == ["ok"]
    assert [r.id for r in received.rejected_entries] == ["bad id"]
    with pytest.raises(InvalidKnowledge):
        parse_entry(wire["entries"][1])  # type: ignore[index]
    assert [e["id"] for e in received.model_dump(mode="json")["entries"]] == ["ok"]
    assert KbUpdated.model_validate(received.model_dump(mode="json")).rejected_entries == ()


def test_the_entries_travel_in_the_knowledge_files_shape_without_empty_fields() -> None:
    learned = {
        "id": "learned-abc123",
        "category": "learned",
        "tags": [],
        "intents": [],
        "owner": "agent-7",
        "updated_at": "2026-11-20T10:00:00Z",
        "source": "handoff",
        "en": {"question": "How do I order business cards?", "alternatives": [], "answer": "Use the form."},
    }
    update = KbUpdated.carrying([parse_entry(learned)], kb_version="v3", actor="op-1")
    [sent] = json.loads(update.model_dump_json())["entries"]
    assert sent == learned
    assert "ja" not in sent
    assert KbUpdated.model_validate_json(update.model_dump_json()) == update


def test_an_update_counts_known_ids_as_changed_and_the_others_as_added() -> None:
    a, b = (parse_entry({"id": i, "question": f"{i}?", "answer": "A."}) for i in ("a", "b"))
    update = KbUpdated.carrying([a, b], removed=["c"], known_ids=["b"])
    assert (update.added, update.changed, update.removed) == (["a"], ["b"], ["c"])
    assert update.kb_version == f"update-{update.update_id.hex[:12]}"
    assert update.actor == "operator"


def test_texts_are_the_versions_there_are() -> None:
    entry = parse_entry({"id": "x", "question": "休暇の申請方法は？", "answer": "ポータルから。"})
    assert isinstance(entry, FaqEntry)
    assert list(entry.texts) == [Language.JA]
    assert entry.texts.get(Language.OTHER) is None
    assert entry.text(Language.OTHER) is entry.ja
