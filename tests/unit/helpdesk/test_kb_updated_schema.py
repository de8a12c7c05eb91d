"""`kb.updated`: schema 2 is a claim check (a version, its pages, counts and a bounded list of changed
ids; never content), and schema 1 events (entries inline) are still read during an upgrade."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from helpdesk.events import MAX_CHANGED_IDS, KbUpdated, KnowledgeCounts
from helpdesk.knowledge.entries import parse_entry


def referring(changed: int) -> KbUpdated:
    return KbUpdated.referring(
        update_id=uuid.uuid4(),
        kb_version="v7-0123456789",
        previous_version="v6-9876543210",
        pages=20,
        counts=KnowledgeCounts(added=changed),
        changed_ids=[f"manual-0123456789~{n:016x}" for n in range(changed)],
        actor="operator",
    )


def test_schema_2_names_a_version_and_bounds_the_ids_it_lists() -> None:
    small, large = referring(3), referring(20_000)
    assert small.schema_version == 2
    assert not small.carries_entries
    assert small.changed_ids_complete
    assert len(small.changed_ids) == 3
    assert not large.changed_ids_complete
    assert len(large.changed_ids) == MAX_CHANGED_IDS
    assert large.counts.added == 20_000
    assert len(large.model_dump_json()) < 16 * 1024


def test_the_longest_ids_still_keep_an_event_far_below_64_kb() -> None:
    longest = "x" * 128
    event = KbUpdated.referring(
        update_id=uuid.uuid4(),
        kb_version="v" * 200,
        previous_version="v" * 200,
        pages=10_000,
        counts=KnowledgeCounts(added=10**6),
        changed_ids=[longest] * 10_000,
        actor="a" * 256,
    )
    assert len(event.model_dump_json()) < 20 * 1024


def test_schema_2_round_trips_and_refuses_content() -> None:
    event = referring(2)
    wire = event.model_dump(mode="json")
    assert KbUpdated.model_validate(wire) == event
    entry = {"id": "smuggled", "question": "q?", "answer": "planted", "lang": "en"}
    with pytest.raises(ValidationError, match="references only"):
        KbUpdated.model_validate({**wire, "entries": [entry]})
    with pytest.raises(ValidationError):
        KbUpdated.model_validate({**wire, "changed_ids": ["a"] * (MAX_CHANGED_IDS + 1)})


def test_schema_1_events_are_still_accepted_with_their_entries() -> None:
    entry = parse_entry({"id": "vpn", "question": "VPN?", "answer": "Use the client.", "lang": "en"})
    old = {
        "schema_version": 1,
        "update_id": str(uuid.uuid4()),
        "kb_version": "update-1",
        "added": ["vpn"],
        "entries": [entry.model_dump(mode="json"), {"id": "broken"}],
        "actor": "operator",
    }
    event = KbUpdated.model_validate(old)
    assert event.carries_entries
    assert [e.id for e in event.entries] == ["vpn"]
    assert [r.id for r in event.rejected_entries] == ["broken"]
    assert KbUpdated.carrying([entry]).schema_version == 1


def test_an_unknown_schema_is_refused() -> None:
    with pytest.raises(ValidationError):
        KbUpdated.model_validate({"schema_version": 3, "update_id": str(uuid.uuid4()), "kb_version": "x"})
