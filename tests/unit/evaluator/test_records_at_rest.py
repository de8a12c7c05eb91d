"""What a turn leaves in the state store: its evaluation and its conversation's session, each written
without the fields at their defaults (one of each per chat is most of what Redis holds), and read back
whole, so the operator API shows the same record as before."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from helpdesk.events import FeedbackSubmitted, Rating
from helpdesk.memory_ports import MemoryStateStore, memory_runtime
from helpdesk_ops.seed import local_secrets
from services.evaluator.app import create_app
from services.evaluator.records import EvaluationRecord, SessionRecord
from services.evaluator.settings import EvaluatorSettings
from tests.support.events import envelope
from tests.unit.evaluator.conftest import PASSWORD_FAQ_FILE, answered

OPERATOR = {"authorization": "Bearer hdop_operator"}


@pytest.fixture
def state() -> MemoryStateStore:
    return MemoryStateStore()


@pytest.fixture
def client(state: MemoryStateStore, tmp_path: Path) -> Iterator[TestClient]:
    (tmp_path / "faq.yaml").write_text(PASSWORD_FAQ_FILE, encoding="utf-8")
    runtime = memory_runtime("evaluator", secrets=local_secrets("hd_user", "hdop_operator"), state=state)
    settings = EvaluatorSettings(knowledge_path=str(tmp_path), aggregate_flush_seconds=0.01)
    with TestClient(create_app(settings, runtime)) as test_client:
        yield test_client


def deliver(client: TestClient, event: object, topic: str) -> None:
    response = client.post(f"/events/pubsub/{topic}", json=envelope(event, topic))  # type: ignore[arg-type]
    assert response.json()["status"] == "SUCCESS"


def at_rest(state: MemoryStateStore, key: str) -> dict[str, Any]:
    stored = asyncio.run(state.get(key))
    assert stored is not None, key
    found: dict[str, Any] = orjson.loads(stored.value)
    return found


def test_an_evaluation_is_kept_without_its_defaults_and_shown_whole(
    client: TestClient, state: MemoryStateStore
) -> None:
    event = answered()
    deliver(client, event, "chat.answered")
    kept = at_rest(state, f"evaluation:{event.turn_id}")
    assert set(kept) == {
        "turn_id",
        "conversation_id",
        "occurred_at",
        "language",
        "mode",
        "variant",
        "question",
        "answer",
        "cited_faq_ids",
        "relevance",
        "groundedness",
        "citation_validity",
        "timings_ms",
        "recorded_at",
        "position",
    }
    assert kept["variant"] == {"name": "a"}
    shown = client.get(f"/v1/evaluations/{event.turn_id}", headers=OPERATOR).json()
    assert shown == EvaluationRecord.model_validate_json(orjson.dumps(kept)).model_dump(mode="json")
    assert shown["variant"] == {"prompt": "none", "model": "none", "name": "a"}
    assert (shown["escalated"], shown["feedback"], shown["judge"], shown["unknown_citations"]) == (
        False,
        None,
        None,
        [],
    )

    thumbs = FeedbackSubmitted(
        turn_id=event.turn_id, conversation_id=event.conversation_id, channel=event.channel, rating=Rating.UP
    )
    deliver(client, thumbs, "feedback.submitted")
    rated = at_rest(state, f"evaluation:{event.turn_id}")
    assert set(rated) - set(kept) == {"feedback"}
    joined = client.get(f"/v1/evaluations/{event.turn_id}", headers=OPERATOR).json()
    assert joined["feedback"]["rating"] == "up"


def test_a_session_keeps_only_what_the_next_turn_needs(client: TestClient, state: MemoryStateStore) -> None:
    conversation = uuid.uuid4()
    first, second = answered(conversation_id=conversation), answered(conversation_id=conversation)
    deliver(client, first, "chat.answered")
    deliver(client, second, "chat.answered")
    kept = at_rest(state, f"session:{conversation}")
    assert set(kept) == {"conversation_id", "variant", "questions", "deltas", "unresolved"}
    assert all(set(question) == {"terms"} for question in kept["questions"])
    session = SessionRecord.model_validate_json(orjson.dumps(kept))
    assert session.unresolved, "the same question twice is a re-asked one"
    assert set(session.deltas) == {f"turn:{first.turn_id}", f"turn:{second.turn_id}"}
    summary = client.get("/v1/evaluations/summary", headers=OPERATOR).json()
    assert summary["overall"]["sessions"]["conversations"] == 1
    assert summary["overall"]["sessions"]["reasked_turns"] == 1
