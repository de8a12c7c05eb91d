"""What the evaluator keeps is bounded by time: every record it writes per turn, per day or per dead
letter carries a TTL (docs/reliability.md, "What is bounded, and how")."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from helpdesk.events import FeedbackSubmitted, Rating
from helpdesk.memory_ports import memory_runtime
from helpdesk_ops.seed import local_secrets
from services.evaluator.app import create_app
from services.evaluator.judge import Budget
from services.evaluator.quality_report import MAX_DAYS
from services.evaluator.settings import EvaluatorSettings
from tests.support.events import envelope
from tests.support.kept_for import KeptFor
from tests.unit.evaluator.conftest import answered

RETENTION = 30 * 86400


@pytest.fixture
def state() -> KeptFor:
    return KeptFor()


@pytest.fixture
def client(state: KeptFor, tmp_path: Path) -> Iterator[TestClient]:
    runtime = memory_runtime("evaluator", secrets=local_secrets("hd_user", "hdop_operator"), state=state)
    settings = EvaluatorSettings(
        knowledge_path=str(tmp_path), aggregate_flush_seconds=0.01, record_retention_seconds=RETENTION
    )
    with TestClient(create_app(settings, runtime)) as test_client:
        yield test_client


def test_aggregates_are_kept_as_long_as_the_summaries_look_back_and_no_longer(
    client: TestClient, state: KeptFor
) -> None:
    event = answered()
    response = client.post("/events/pubsub/chat.answered", json=envelope(event, "chat.answered"))
    assert response.json()["status"] == "SUCCESS"
    assert state.kept("aggshard:") == {(MAX_DAYS + 1) * 86400}
    assert state.kept("aggindex:") == {(MAX_DAYS + 1) * 86400}
    assert state.kept("evaluation:") == {RETENTION}
    assert state.kept("session:") == {RETENTION}


def test_dead_letter_records_expire_with_the_other_records(client: TestClient, state: KeptFor) -> None:
    letter = {"id": "dl-1", "data": {"turn_id": str(uuid.uuid4())}, "datacontenttype": "application/json"}
    response = client.post("/events/pubsub/deadletter.nlp.chat.requested", json=letter)
    assert response.json()["status"] == "SUCCESS"
    assert state.kept("deadletter:") == {RETENTION}


def test_the_judges_budget_holds_only_the_current_day(monkeypatch: pytest.MonkeyPatch) -> None:
    budget = Budget(daily_usd=1.0)
    for day in ("2026-12-01", "2026-12-02", "2026-12-03"):
        monkeypatch.setattr(Budget, "today", staticmethod(lambda day=day: day))
        budget.charge(0.25)
        budget.settle(day, 0.5)
    budget.charge(0.25)
    assert budget.spent == {"2026-12-03": 0.75}
    assert budget.allows()


def service_bus_message_days() -> int:
    """How long Service Bus keeps a message (the template's `messageTimeToLive`, `P<n>D`)."""
    template = (Path(__file__).parents[3] / "deploy" / "modules" / "servicebus.bicep").read_text()
    found = re.search(r"param messageTimeToLive string = 'P(\d+)D'", template)
    assert found, "the Service Bus template states its message time-to-live in days"
    return int(found.group(1))


def test_turn_records_outlive_every_redelivery_and_no_more(state: KeptFor, tmp_path: Path) -> None:
    """The per-turn records are the gate that counts a redelivered event once, so they are kept as long
    as Service Bus may still deliver (or replay from a dead-letter queue) the event, and not 90 days:
    the quality, session and A/B numbers come from the aggregates."""
    retention = EvaluatorSettings().record_retention_seconds
    assert retention == service_bus_message_days() * 86400 == 14 * 86400
    runtime = memory_runtime("evaluator", secrets=local_secrets("hd_user", "hdop_operator"), state=state)
    settings = EvaluatorSettings(knowledge_path=str(tmp_path), aggregate_flush_seconds=0.01)
    event = answered()
    feedback = FeedbackSubmitted(
        turn_id=event.turn_id, conversation_id=event.conversation_id, channel=event.channel, rating=Rating.UP
    )
    with TestClient(create_app(settings, runtime)) as client:
        for topic, sent in (("chat.answered", event), ("feedback.submitted", feedback)):
            response = client.post(f"/events/pubsub/{topic}", json=envelope(sent, topic))
            assert response.json()["status"] == "SUCCESS"
    assert state.kept("evaluation:") == {retention}
    assert state.kept("session:") == {retention}
    assert state.kept("rating:") == {retention}
    assert state.kept("aggshard:") == {(MAX_DAYS + 1) * 86400}
