"""The subscription adapter: token check, schema validation to DROP, outcomes, trace continuation."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from pydantic import SecretStr

from helpdesk.dapr.ports import SidecarUnavailable
from helpdesk.dapr.subscriptions import Delivery, Drop, Subscriptions
from helpdesk.errors import install_problem_handlers
from helpdesk.events import ChatAnswered, ChatRequested
from helpdesk.telemetry import current_trace_id
from helpdesk.topics import AppId, Component, Topic
from tests.support.events import chat_requested, envelope
from tests.support.gateway import answer_for

TOKEN = "sidecar-token"


def app_with(handler: Any) -> TestClient:
    subscriptions = Subscriptions(AppId.NLP, SecretStr(TOKEN))
    subscriptions.on(Topic.CHAT_REQUESTED, ChatRequested)(handler)
    app = FastAPI()
    install_problem_handlers(app)
    subscriptions.install(app)
    return TestClient(app)


def post(client: TestClient, body: Any, token: str | None = TOKEN) -> Any:
    headers = {"dapr-api-token": token} if token else {}
    return client.post("/events/pubsub/chat.requested", json=body, headers=headers)


def test_the_subscription_table_names_a_dead_letter_topic() -> None:
    async def handler(event: ChatRequested, delivery: Delivery) -> None:
        return None

    client = app_with(handler)
    table = client.get("/dapr/subscribe", headers={"dapr-api-token": TOKEN}).json()
    assert table == [
        {
            "pubsubname": "pubsub",
            "topic": "chat.requested",
            "route": "/events/pubsub/chat.requested",
            "metadata": {},
            "deadLetterTopic": "deadletter.nlp.chat.requested",
        }
    ]


def test_a_valid_event_reaches_the_handler_with_its_trace() -> None:
    seen: list[tuple[ChatRequested, str | None]] = []

    async def handler(event: ChatRequested, delivery: Delivery) -> None:
        seen.append((event, current_trace_id()))

    event = chat_requested("hello")
    response = post(app_with(handler), envelope(event, "chat.requested"))
    assert response.json() == {"status": "SUCCESS"}
    assert seen[0][0] == event
    assert seen[0][1] == "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.parametrize(
    "data",
    [{"turn_id": "nope"}, {}, {"text": 5}, "a string", None],
)
def test_an_invalid_payload_is_dropped_to_the_dead_letter_topic(data: Any) -> None:
    called = []

    async def handler(event: ChatRequested, delivery: Delivery) -> None:
        called.append(event)

    body = envelope(chat_requested(), "chat.requested") | {"data": data}
    assert post(app_with(handler), body).json() == {"status": "DROP"}
    assert called == []


def test_an_envelope_that_is_not_an_object_is_dropped() -> None:
    async def handler(event: ChatRequested, delivery: Delivery) -> None:
        raise AssertionError("must not be called")

    assert post(app_with(handler), ["not", "an", "envelope"]).json() == {"status": "DROP"}


@pytest.mark.parametrize("token", [None, "wrong"])
def test_calls_without_the_app_token_are_refused(token: str | None) -> None:
    async def handler(event: ChatRequested, delivery: Delivery) -> None:
        raise AssertionError("must not be called")

    client = app_with(handler)
    response = post(client, envelope(chat_requested(), "chat.requested"), token=token)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    listing = client.get("/dapr/subscribe", headers={"dapr-api-token": token} if token else {})
    assert listing.status_code == 401


@pytest.mark.parametrize(
    ("error", "status"),
    [(SidecarUnavailable("down"), "RETRY"), (RuntimeError("bug"), "RETRY"), (Drop("nothing to do"), "DROP")],
)
def test_handler_failures_map_to_retry_or_drop(error: Exception, status: str) -> None:
    async def handler(event: ChatRequested, delivery: Delivery) -> None:
        raise error

    assert post(app_with(handler), envelope(chat_requested(), "chat.requested")).json() == {"status": status}


def test_broadcast_subscriptions_follow_the_live_topic_without_dead_letters() -> None:
    subscriptions = Subscriptions(AppId.GATEWAY, None)

    async def handler(event: ChatRequested, delivery: Delivery) -> None:
        return None

    subscriptions.on(Topic.CHAT_ANSWERED, ChatRequested, pubsub=Component.BROADCAST)(handler)
    app = FastAPI()
    subscriptions.install(app)
    [entry] = TestClient(app).get("/dapr/subscribe").json()
    assert entry["pubsubname"] == "broadcast"
    assert entry["topic"] == "live.chat.answered"
    assert "deadLetterTopic" not in entry


def rejected(service: str, topic: str, reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "helpdesk_events_rejected_total", {"service": service, "topic": topic, "reason": reason}
    )
    return value or 0.0


@pytest.mark.parametrize("source", ["gateway", "dialogue", "tests", "", None, ["nlp"], {"app": "gateway"}])
def test_a_delivery_from_anyone_but_the_topics_publisher_is_dropped_and_counted(
    source: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """chat.requested is the gateway's: the sidecar of any other app may not publish it, and an entry
    that reaches the stream another way under another name is dead-lettered, not handled."""
    called = []

    async def handler(event: ChatRequested, delivery: Delivery) -> None:
        called.append(event)

    secret = "my card is 4111 1111 1111 1111"
    body = envelope(chat_requested(secret), "chat.requested") | {"source": source}
    if source == "gateway":
        body["source"] = "nlp"  # the consumer's own name is not the publisher's either
    before = rejected("nlp", "chat.requested", "source")
    assert post(app_with(handler), body).json() == {"status": "DROP"}
    assert called == []
    assert rejected("nlp", "chat.requested", "source") == before + 1
    assert secret not in caplog.text


def test_the_publishers_own_deliveries_are_handled() -> None:
    seen = []

    async def handler(event: ChatRequested, delivery: Delivery) -> None:
        seen.append(event)

    event = chat_requested("hello")
    assert envelope(event, "chat.requested")["source"] == "gateway"
    assert post(app_with(handler), envelope(event, "chat.requested")).json() == {"status": "SUCCESS"}
    assert seen == [event]


def test_live_copies_are_checked_against_the_same_publisher() -> None:
    subscriptions = Subscriptions(AppId.GATEWAY, None)
    seen = []

    async def handler(event: ChatAnswered, delivery: Delivery) -> None:
        seen.append(event)

    subscriptions.on(Topic.CHAT_ANSWERED, ChatAnswered, pubsub=Component.BROADCAST)(handler)
    app = FastAPI()
    subscriptions.install(app)
    client = TestClient(app)
    answered = answer_for(chat_requested())
    route = "/events/broadcast/live.chat.answered"
    forged = envelope(answered, "live.chat.answered", "broadcast", source="evaluator")
    assert client.post(route, json=forged).json() == {"status": "DROP"}
    genuine = envelope(answered, "live.chat.answered", "broadcast")
    assert genuine["source"] == "dialogue"
    assert client.post(route, json=genuine).json() == {"status": "SUCCESS"}
    assert seen == [answered]


def test_dead_letters_are_recorded_whatever_their_source() -> None:
    """A dead letter keeps the envelope it failed with, including one refused for its source."""
    subscriptions = Subscriptions(AppId.EVALUATOR, None)
    kept = []

    async def handler(raw: dict[str, Any], delivery: Delivery) -> None:
        kept.append(raw["source"])

    subscriptions.on_dead_letters(handler)
    app = FastAPI()
    subscriptions.install(app)
    body = envelope({"forged": True}, "deadletter.dialogue.kb.updated", source="gateway")
    response = TestClient(app).post("/events/pubsub/deadletter.dialogue.kb.updated", json=body)
    assert response.json() == {"status": "SUCCESS"}
    assert kept == ["gateway"]
